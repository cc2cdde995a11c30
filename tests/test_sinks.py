import io
import json

import pytest

from streamer.events import Caption
from streamer.output.sinks import make_sink


def cap(text, start, end):
    return Caption(text=text, start_s=start, end_s=end, latency_s=0.5, language="en",
                   avg_logprob=-0.3, no_speech_prob=0.01, compression_ratio=1.1,
                   window_index=0, emitted_wall=0.0)


def test_srt_numbering_and_times():
    buf = io.StringIO()
    s = make_sink("srt", buf)
    s.write(cap("Hello.", 1.5, 4.25))
    s.write(cap("World.", 3661.001, 3662.0))
    assert buf.getvalue() == ("1\n00:00:01,500 --> 00:00:04,250\nHello.\n\n"
                              "2\n01:01:01,001 --> 01:01:02,000\nWorld.\n\n")


def test_vtt_header_and_times():
    buf = io.StringIO()
    s = make_sink("vtt", buf)
    s.write(cap("Hello.", 0.0, 2.0))
    assert buf.getvalue() == "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nHello.\n\n"


def test_jsonl_and_text():
    buf = io.StringIO()
    make_sink("jsonl", buf).write(cap("Ça va?", 0.0, 1.0))
    row = json.loads(buf.getvalue())
    assert row["text"] == "Ça va?" and row["latency"] == 0.5
    buf = io.StringIO()
    make_sink("text", buf).write(cap("Hi", 0, 1))
    assert buf.getvalue() == "Hi\n"
    with pytest.raises(ValueError):
        make_sink("docx", buf)

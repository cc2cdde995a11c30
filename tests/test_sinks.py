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


# -- times in text output, tsv, line limits (issue 15, items 5 and 8) -----------------------------

def test_text_with_timestamps_stamps_finals_and_partials():
    from streamer.events import Partial

    buf = io.StringIO()
    s = make_sink("text", buf, partials=True, timestamps=True)
    s.width = 200
    s.write_partial(Partial(0, "And so", "", 0.03, 1.2, 0.0))
    s.write(cap("And so my fellow Americans.", 0.03, 2.25))
    assert buf.getvalue() == ("\r[00:00:00.030 --> 00:00:01.200] And so"
                              "\r[00:00:00.030 --> 00:00:02.250] And so my fellow Americans.\n")


def test_tsv_is_whispers_integer_milliseconds_with_a_header():
    buf = io.StringIO()
    s = make_sink("tsv", buf)
    s.write(cap("Hello,\tworld.", 1.5, 4.2505))
    s.write(cap("Two\nlines", 3661.0014, 3662.0))
    assert buf.getvalue() == ("start\tend\ttext\n1500\t4250\tHello, world.\n"
                              "3661001\t3662000\tTwo lines\n")
    assert all(len(line.split("\t")) == 3 for line in buf.getvalue().splitlines())


def worded(text, start=10.0, step=0.5):
    """A caption whose words are timed ``step`` s apart from ``start``."""
    from dataclasses import replace

    from streamer.events import Word

    ws = tuple(Word(" " + w, start + i * step, start + (i + 1) * step - 0.1, 0.9)
               for i, w in enumerate(text.split()))
    return replace(cap(text, start, start + len(ws) * step), words=ws)


def test_srt_cues_split_at_word_times_by_width_and_line_count():
    buf = io.StringIO()
    s = make_sink("srt", buf, max_line_width=12, max_line_count=2)
    s.write(worded("ask not what your country can do for you"))
    s.write(cap("Next.", 20.0, 21.0))  # no words: one cue, numbered on
    assert buf.getvalue() == (
        "1\n00:00:10,000 --> 00:00:12,400\nask not what\nyour country\n\n"
        "2\n00:00:12,500 --> 00:00:14,400\ncan do for\nyou\n\n"
        "3\n00:00:20,000 --> 00:00:21,000\nNext.\n\n")


def test_vtt_wraps_lines_and_a_word_longer_than_the_width_keeps_its_line():
    buf = io.StringIO()
    s = make_sink("vtt", buf, max_line_width=8)
    s.write(worded("a extraordinarily long b"))
    assert buf.getvalue() == ("WEBVTT\n\n00:00:10.000 --> 00:00:11.900\n"
                              "a\nextraordinarily\nlong b\n\n")
    buf = io.StringIO()
    make_sink("vtt", buf, max_line_width=10).write(cap("without any word times", 1.0, 2.0))
    assert buf.getvalue().endswith("00:00:01.000 --> 00:00:02.000\nwithout\nany word\ntimes\n\n")


def test_jsonl_carries_words_only_when_timed():
    buf = io.StringIO()
    sink = make_sink("jsonl", buf)
    sink.write(worded("hello there"))
    sink.write(cap("plain", 0, 1))
    timed, plain = (json.loads(line) for line in buf.getvalue().splitlines())
    assert timed["words"] == [{"word": " hello", "start": 10.0, "end": 10.4, "probability": 0.9},
                              {"word": " there", "start": 10.5, "end": 10.9, "probability": 0.9}]
    assert "words" not in plain

"""The whole engine on real speech with tiny.en: capture thread -> ring -> VAD -> worker."""

import math
import typing

import pytest

from conftest import ASSETS, CLIPS, held_file_source, in_order, tiny_config, words
from streamer.config import Config, ModelRequest
from streamer.events import (CaptureStarted, Caption, Event, ModelReady, PipelineStats,
                             PlanReady, SessionFailed, SourceOpened, WindowStarted)
from streamer.pipeline import Pipeline
from streamer.capture.sources import FileSource

KEY_WORDS = {
    "jfk": ["fellow", "americans", "country", "country"],
    "librispeech": ["reader", "excuse", "native", "country", "narrative", "tedious", "painful"],
    "ljspeech": ["first", "importance", "letter", "fine", "form"],
}


pytestmark = pytest.mark.model  # every test here runs tiny.en (the failure test a broken one)


@pytest.fixture(scope="module")
def sessions():
    """Each clip replayed once at --speed max; the list of events per clip."""
    out = {}
    for name, (path, _) in CLIPS.items():
        p = Pipeline(tiny_config(), lambda ring, path=path: FileSource(path, ring, speed=math.inf))
        out[name] = (p, list(p.events()))
    return out


@pytest.mark.parametrize("clip", list(CLIPS))
def test_key_words_present_in_order(sessions, clip):
    p, events = sessions[clip]
    assert p.error is None
    captions = [e for e in events if isinstance(e, Caption)]
    assert captions
    text = words(" ".join(c.text for c in captions))
    assert in_order(KEY_WORDS[clip], text), text


@pytest.mark.parametrize("clip", list(CLIPS))
def test_event_stream_is_well_formed(sessions, clip):
    p, events = sessions[clip]
    # the session's opening, in order: input, plan, the calibrated plan, the model, capture
    # start (a file starts after the model loads); then the audio's events
    head = [type(e) for e in events[:5]]
    assert head == [SourceOpened, PlanReady, PlanReady, ModelReady, CaptureStarted]
    assert events.index(next(e for e in events if isinstance(e, PlanReady) and e.calibrated)) \
        < events.index(next(e for e in events if isinstance(e, ModelReady)))
    assert not any(isinstance(e, (Caption, WindowStarted)) for e in events[:head.index(ModelReady)])
    assert isinstance(events[-1], PipelineStats) and events[-1].final
    assert not any(isinstance(e, SessionFailed) for e in events)
    for e in events:  # the union, and nothing else
        assert isinstance(e, typing.get_args(Event)), e
    captions = [e for e in events if isinstance(e, Caption)]
    starts = [c.start_s for c in captions]
    assert starts == sorted(starts)
    for c in captions:
        assert 0 <= c.start_s < c.end_s and c.latency_s >= 0 and c.language == "en"
        assert c.avg_logprob <= 0 and 0 <= c.no_speech_prob <= 1
    started = [e.window_index for e in events if isinstance(e, WindowStarted)]
    assert started == list(range(len(started)))
    st = events[-1]
    assert st.overruns == 0  # --speed max waits for room instead of dropping
    assert st.windows == st.windows_decoded == len(started)
    assert st.captions + sum(st.filtered.values()) == st.windows_decoded
    duration = {"jfk": 11.0, "librispeech": 11.66, "ljspeech": 4.51}[clip]
    assert abs(st.stream_s - duration) < 0.05


def test_a_one_word_file_is_read_once():
    """A file that is one word from its first sample to its last, as ``livescribe --file``
    meets it: tiny.en read it "9 9", a copy the alignment gives no audio (docs/benchmarks.md,
    "Each clip alone")."""
    path, word = ASSETS / "asterisk_en_digits__9.flac", "9"
    p = Pipeline(tiny_config(), lambda ring: FileSource(path, ring, speed=math.inf))
    captions = [e.text for e in p.events() if isinstance(e, Caption)]
    assert p.error is None and words(" ".join(captions)) == [word], captions


def test_model_failure_travels_as_data(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.bin").write_bytes(b"not a model")
    (bad / "config.json").write_text("{}")
    p = Pipeline(Config(model=ModelRequest(name=str(bad))),
                 lambda ring: FileSource(CLIPS["jfk"][0], ring))
    events = list(p.events())
    assert p.error is not None and "bad" in str(p.error)
    assert not any(isinstance(e, Caption) for e in events)


def test_captions_arrive_while_capture_goes_on():
    """A caption comes out while the source is still capturing: the capture thread is held
    at 6 s of jfk.flac (mid-clip) until the first caption is out, then released."""
    factory, holder = held_file_source(CLIPS["jfk"][0], hold_s=6.0)
    p = Pipeline(tiny_config(), factory)
    events = p.events()
    first = next(e for e in events if isinstance(e, Caption))
    held = holder[0]
    assert not held.closed  # the stream has not ended...
    assert held.written_samples <= 6 * 16000  # ...and stands at most 6 s in
    assert first.end_s <= 6.0
    held.release()
    rest = [e for e in events if isinstance(e, Caption)]
    assert rest and rest[-1].end_s > 6.0
    assert in_order(["ask", "country"], words(" ".join(c.text for c in rest)))
    assert p.error is None


def test_stop_while_the_model_is_loading_ends_cleanly(monkeypatch):
    """stop() while the model still loads (the load held by the test): the session ends with
    final stats, no error and no capture; the held load then completes and is released."""
    import threading

    import faster_whisper

    loading, go = threading.Event(), threading.Event()
    real = faster_whisper.WhisperModel

    def held_load(*args, **kwargs):
        loading.set()
        go.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(faster_whisper, "WhisperModel", held_load)
    p = Pipeline(tiny_config(), lambda ring: FileSource(CLIPS["jfk"][0], ring))
    out: list = []
    consumer = threading.Thread(target=lambda: out.extend(p.events()), daemon=True)
    consumer.start()
    assert loading.wait(120)  # the worker is inside the model load
    p.stop()
    go.set()
    consumer.join(120)
    assert not consumer.is_alive()
    final = [e for e in out if isinstance(e, PipelineStats) and e.final]
    assert len(final) == 1 and final[0].stream_s == 0 and final[0].windows == 0
    assert p.error is None and not any(isinstance(e, Caption) for e in out)


def test_a_load_that_fails_after_stop_still_fails_the_session(monkeypatch):
    """stop() while the model loads, then the load fails: the session ends with that error
    (SessionFailed and its exit code), not as a clean stop."""
    import threading

    import faster_whisper

    loading, go = threading.Event(), threading.Event()

    def failing_load(*args, **kwargs):
        loading.set()
        go.wait(120)
        raise RuntimeError("unsupported model file")

    monkeypatch.setattr(faster_whisper, "WhisperModel", failing_load)
    p = Pipeline(tiny_config(), lambda ring: FileSource(CLIPS["jfk"][0], ring))
    out: list = []
    consumer = threading.Thread(target=lambda: out.extend(p.events()), daemon=True)
    consumer.start()
    assert loading.wait(120)
    p.stop()
    go.set()
    consumer.join(120)
    assert not consumer.is_alive()
    assert p.error is not None
    failed = [e for e in out if isinstance(e, SessionFailed)]
    assert len(failed) == 1 and failed[0].exit_code == int(p.error.exit_code) != 0


def test_a_piece_after_a_short_pause_is_read_after_the_one_before_without_doubling(monkeypatch):
    """jfk's "ask not" and "what your country…" follow each other within a second: the second is
    decoded after the first's audio and text (streamer.decoding.context), and its caption holds
    none of the first's words again."""
    from streamer.decoding.context import Joint

    joint: list[tuple[str, str | None]] = []
    real = Joint.strip

    def spy(self, r):
        s = real(self, r)
        joint.append((self.text, None if s is None else s.text))
        return s

    monkeypatch.setattr(Joint, "strip", spy)
    p = Pipeline(tiny_config(), lambda ring: FileSource(CLIPS["jfk"][0], ring, speed=math.inf))
    captions = [e.text for e in p.events() if isinstance(e, Caption)]
    assert p.error is None and joint, "no window was decoded after its context"
    assert in_order(KEY_WORDS["jfk"], words(" ".join(captions)))
    for before, after in zip(captions, captions[1:]):  # no word read twice across a cut
        assert words(after)[:2] != words(before)[-2:], (before, after)
    assert all(text is None or text in captions for _, text in joint)

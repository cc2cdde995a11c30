"""Audio context across utterances (:mod:`streamer.decoding.context`, ``keeping``): a final
that starts soon after the last kept caption is decoded alone (what the filters judge)
and again after that caption's audio, its text forced as prefix; its caption holds what the
model read after the prefix.

Fast tier: a scripted decoder stands in for the model inside a real
:class:`InferenceWorker`, its methods called on this thread.
"""

from __future__ import annotations

import queue

import numpy as np
import pytest

from conftest import queued
from streamer.decoding.context import AudioContext, Joint
from streamer.decoding.decoder import DecodingOptions
from streamer.decoding.filter_options import FilterOptions
from streamer.decoding.result import DecodeResult
from streamer.decoding.worker import InferenceWorker
from streamer.events import Caption, WindowDropped, WindowTimings, Word
from streamer.segmentation.window import SpeechWindow

TAIL_S = 0.3  #: each test window's silence after its speech


def _window(index: int, start: float, speech_s: float, reason: str = "end") -> SpeechWindow:
    """A voiced-like window (passes the gate) whose speech runs ``[start, start + speech_s]``."""
    n = int((speech_s + TAIL_S) * 16000)
    audio = (np.sin(2 * np.pi * 220 * np.arange(n) / 16000) * 3000).astype(np.int16)
    return SpeechWindow(index=index, audio=audio, start_s=start, end_s=start + n / 16000,
                        voiced_s=speech_s, captured_wall=0.0, reason=reason,
                        speech_start_s=start, speech_end_s=start + speech_s,
                        confirmed_s=speech_s, peak_speech_prob=0.9)


class Reader:
    """Reads the next scripted words after the prefix it is forced through (as the model
    does); records each decode's audio length (seconds) and prefix. ``lose``: a forced decode
    returns only its scripted words (one that did not keep the forced text). A decode's
    no_speech_prob is ``no_speech`` for text in that dict, else 0.01."""

    def __init__(self, words: list[str], lose: bool = False, no_speech: dict | None = None,
                 ) -> None:
        self.words, self.lose, self.no_speech = list(words), lose, no_speech or {}
        self.calls: list[tuple[float, str | None]] = []
        self.languages: list[str | None] = []

    def decode(self, audio, speech_s=None, previous_text=None, prefix=None, first=None,
               interim=False, language=None) -> DecodeResult:
        self.calls.append((round(len(audio) / 16000, 2), prefix))
        self.languages.append(language)
        new = self.words.pop(0)
        text = new if self.lose and prefix else f"{prefix or ''} {new}".strip()
        return DecodeResult(text=text, language="en", avg_logprob=-0.2,
                            no_speech_prob=self.no_speech.get(new, 0.01),
                            compression_ratio=1.1, feature_s=0.0, encode_s=1.0, decode_s=0.0)

    def vote_language(self, result, speech_s=None) -> None:
        pass


def _worker(words: list[str], lose: bool = False, no_speech: dict | None = None,
            **options) -> tuple[InferenceWorker, queue.Queue]:
    events: queue.Queue = queue.Queue()
    w = InferenceWorker(lambda: None, DecodingOptions(language="en", **options), FilterOptions(),
                        queue.Queue(), events, early_finals=False)
    w.decoder = Reader(words, lose, no_speech)
    return w, events


def _captions(events: queue.Queue) -> list[str]:
    return [e.text for e in queued(events) if isinstance(e, Caption)]


def test_a_final_soon_after_a_caption_is_read_after_its_audio_and_keeps_only_its_words():
    w, events = _worker(["He was not", "and he will suppose young man.",
                         "an ill-disposed young man."])
    first, second = _window(0, 1.0, 1.2), _window(1, 1.0 + 1.2 + 0.8, 1.5)  # 0.8 s pause
    w.handle_final(first)
    w.handle_final(second)
    assert _captions(events) == ["He was not", "an ill-disposed young man."]
    alone = round(second.end_s - second.start_s, 2)
    joint = round(second.end_s - first.start_s, 2)  # the first window, the gap, the second
    assert w.decoder.calls == [(round(first.end_s - first.start_s, 2), None), (alone, None),
                               (joint, "He was not")]


def test_the_filters_judge_the_window_alone_and_its_time_counts_both_decodes():
    # a chime after the sentence: alone, the model hears no speech; after the sentence's audio
    # and text, no_speech_prob is low whatever follows, and it reads on: that reading is
    # judged with the window's own figures, then the window's own reading, and both go
    w, events = _worker(["He was not", "Thank you.", "and so on."], no_speech={"Thank you.": 0.9})
    w.handle_final(_window(0, 1.0, 1.2))
    w.handle_final(_window(1, 3.0, 0.5))
    evs = queued(events)
    kept = [e for e in evs if isinstance(e, (Caption, WindowDropped))]
    assert [type(e) for e in kept] == [Caption, WindowDropped]
    assert kept[1].text == "Thank you." and "no_speech_prob 0.90" in kept[1].reason
    assert len(w.decoder.calls) == 3
    assert [t.encode_s for t in evs if isinstance(t, WindowTimings)] == [1.0, 2.0]
def test_a_final_long_after_the_last_caption_is_decoded_alone():
    w, events = _worker(["One.", "Two."], context_gap_s=1.0)
    w.handle_final(_window(0, 1.0, 1.0))
    w.handle_final(_window(1, 1.0 + 1.0 + 1.5, 1.0))  # 1.5 s after: another thought
    assert _captions(events) == ["One.", "Two."]
    assert [p for _, p in w.decoder.calls] == [None, None]


def test_no_context_after_a_dropped_window():
    w, events = _worker(["Hello there.", "Thank you.", "Thank you.", "We start now."],
                        no_speech={"Thank you.": 0.9})
    w.handle_final(_window(0, 1.0, 1.0))
    w.handle_final(_window(1, 2.6, 0.5))  # a known hallucination, no speech heard: dropped
    w.handle_final(_window(2, 3.7, 1.0))
    evs = queued(events)
    assert [type(e) for e in evs if isinstance(e, (Caption, WindowDropped))] == \
        [Caption, WindowDropped, Caption]
    prefixes = [p for _, p in w.decoder.calls]
    assert prefixes == [None, None, "Hello there.", None]  # not after text that was not speech
def test_context_off_decodes_every_window_alone():
    w, events = _worker(["He was not", "and he will suppose young man."], context_gap_s=0.0)
    w.handle_final(_window(0, 1.0, 1.2))
    w.handle_final(_window(1, 3.0, 1.5))
    assert [p for _, p in w.decoder.calls] == [None, None]
    assert _captions(events) == ["He was not", "and he will suppose young man."]


@pytest.mark.parametrize("lose, joint_words", [(True, "was not an ill-disposed"), (False, "")])
def test_the_window_alone_stands_where_the_joint_decode_lost_the_context_or_read_nothing(
        lose, joint_words):
    w, events = _worker(["He was not", "and he will suppose young man.", joint_words], lose=lose)
    w.handle_final(_window(0, 1.0, 1.2))
    w.handle_final(_window(1, 3.0, 1.5))
    assert _captions(events) == ["He was not", "and he will suppose young man."]
    assert [p for _, p in w.decoder.calls] == [None, None, "He was not"]


def test_an_interim_snapshot_is_decoded_alone_and_a_pause_snapshot_after_the_context():
    events: queue.Queue = queue.Queue()
    w = InferenceWorker(lambda: None, DecodingOptions(language="en"), FilterOptions(),
                        queue.Queue(), events, partials=True, early_finals=False)
    w.decoder = Reader(["He was not", "an ill", "and he will suppose young man.",
                        "an ill-disposed young man."])
    w.handle_final(_window(0, 1.0, 1.2))
    w.handle_snapshot(_window(1, 3.0, 0.5, "partial"))
    w.handle_snapshot(_window(1, 3.0, 1.5, "pause"))
    w.handle_final(_window(1, 3.0, 1.5))  # ends where the pause snapshot did: its decode
    assert [p for _, p in w.decoder.calls] == [None, None, None, "He was not"]
    assert _captions(events) == ["He was not", "an ill-disposed young man."]
    assert w.finals_reused == 1


def test_the_context_holds_at_most_its_seconds_of_audio():
    ctx = AudioContext(gap_s=1.0, max_s=5.0)
    a, b, c = _window(0, 0.0, 2.0), _window(1, 2.8, 1.5), _window(2, 5.0, 1.0)
    ctx.keep(a, "one")
    ctx.keep(b, "two")
    j = ctx.joint(c)  # a starts 6.3 s before c ends: only b is context
    assert j is not None and j.text == "two"
    assert j.offset_s == pytest.approx(c.start_s - b.start_s, abs=1e-3)
    assert j.audio.size == pytest.approx((c.end_s - b.start_s) * 16000, abs=2)
    assert ctx.joint(_window(3, 5.0, 6.0)) is None  # no room for any context


def test_strip_times_the_windows_words_from_its_first_sample():
    j = Joint(audio=np.zeros(32000, np.float32), text="He was not", offset_s=2.0, speech_s=2.0)
    words = (Word(" He", 0.1, 0.3, 0.9), Word(" was", 0.3, 0.5, 0.9), Word(" not", 0.5, 0.8, 0.9),
             Word(" an", 2.1, 2.3, 0.9), Word(" ill", 2.3, 2.6, 0.9))
    r = DecodeResult(text="He was not an ill", language="en", avg_logprob=-0.2,
                     no_speech_prob=0.01, compression_ratio=1.1, feature_s=0.0, encode_s=0.0,
                     decode_s=0.0, align=lambda: words)
    s = j.strip(r)
    assert s.text == "an ill" and s.compression_ratio != r.compression_ratio
    assert [(x.text, x.start_s, x.end_s) for x in s.aligned().words] == \
        [(" an", pytest.approx(0.1), pytest.approx(0.3)),
         (" ill", pytest.approx(0.3), pytest.approx(0.6))]
    assert j.strip(DecodeResult(text="Hee was", language="en", avg_logprob=-0.2,
                                no_speech_prob=0.01, compression_ratio=1.1, feature_s=0.0,
                                encode_s=0.0, decode_s=0.0)) is None


@pytest.mark.parametrize("gap, most", [(-0.1, 10.0), (1.0, 29.0)])
def test_impossible_context_options_are_refused(gap, most):
    with pytest.raises(ValueError, match="context"):
        DecodingOptions(context_gap_s=gap, context_max_s=most)


def _joint_decode(text: str) -> DecodeResult:
    return DecodeResult(text=text, language="en", avg_logprob=-0.2, no_speech_prob=0.01,
                        compression_ratio=1.1, feature_s=0.0, encode_s=0.0, decode_s=0.0)


def test_a_joint_reading_of_the_context_again_is_not_the_windows_text():
    j = Joint(audio=np.zeros(32000, np.float32), text="Montreal Forced Aligner.", offset_s=2.0,
              speech_s=2.0)
    assert j.strip(_joint_decode("Montreal Forced Aligner. Montreal forced aligner.")) is None
    assert j.strip(_joint_decode("Montreal Forced Aligner. Aligner!")) is None
    kept = j.strip(_joint_decode("Montreal Forced Aligner. Forced, forced aligner."))
    assert kept is not None and kept.text == "Forced, forced aligner."


def test_a_reading_that_goes_back_into_the_context_midway_is_not_the_windows():
    # "… Record mode." then "5": after the context the decode read "5. Record mode. 4. 5."
    w, events = _worker(["Record mode.", "5.", "5. Record mode. 4. 5."])
    w.handle_final(_window(0, 1.0, 1.0))
    w.handle_final(_window(1, 2.5, 0.5))
    assert _captions(events) == ["Record mode.", "5."]
    # said twice, the window alone reads them too: the reading after the context stands
    w, events = _worker(["Record mode.", "Record mode, again.", "record mode again."])
    w.handle_final(_window(0, 1.0, 1.0))
    w.handle_final(_window(1, 2.5, 1.0))
    assert _captions(events) == ["Record mode.", "record mode again."]


def test_punctuation_closing_the_contexts_sentence_is_not_the_windows():
    j = Joint(audio=np.zeros(32000, np.float32), text="It imitates", offset_s=2.0, speech_s=2.0)
    assert j.strip(_joint_decode("It imitates. And therefore far pleasanter.")).text == \
        "And therefore far pleasanter."
    assert j.strip(_joint_decode("It imitates, ...")).text == ""  # nothing read after it


def test_a_window_whose_reading_after_its_context_is_dropped_keeps_its_own():
    # the joint decode reads a loop the chain drops; the window alone read clean words
    w, events = _worker(["Montreal forced aligner.", "Uh, uh, forced aligner.",
                         "Uh, uh, uh, uh, uh, uh, uh, forced aligner."])
    w.handle_final(_window(0, 1.0, 1.2))
    w.handle_final(_window(1, 3.0, 1.5))
    assert _captions(events) == ["Montreal forced aligner.", "Uh, uh, forced aligner."]
    assert [p for _, p in w.decoder.calls] == [None, None, "Montreal forced aligner."]


def test_the_timed_words_after_the_context_are_found_by_their_letters():
    from streamer.decoding.context import after_words

    words = tuple(Word(t, i * 0.3, i * 0.3 + 0.3, 0.9) for i, t in enumerate(
        [" an", " ill", "-disposed", " young", " man.", " And", " he"]))  # 5 words, 4 spaces
    assert [w.text for w in after_words("an ill-disposed young man.", words)] == [" And", " he"]
    glued = (Word(" letterpress", 0.0, 0.5, 0.9), Word(" was", 0.5, 0.7, 0.9))
    assert after_words("types composed to form letter", glued) == ()  # no context word timed


def test_a_reading_that_goes_on_inside_the_contexts_last_word_is_not_the_windows():
    j = Joint(audio=np.zeros(32000, np.float32), text="to form letter", offset_s=2.0,
              speech_s=2.0)
    assert j.strip(_joint_decode("to form letterpress and more.")) is None
    assert j.strip(_joint_decode("to form letter. Press on.")).text == "Press on."


def test_a_window_that_alone_reads_nothing_is_dropped_whatever_it_reads_after_the_context():
    # after a sentence's audio and text a decode may read on where the window alone read
    # nothing (a chime after the sentence): the window is judged by its own reading
    w, events = _worker(["That is all.", "", "Thank you for listening."])
    w.handle_final(_window(0, 1.0, 1.2))
    w.handle_final(_window(1, 3.0, 0.5))
    evs = [e for e in queued(events) if isinstance(e, (Caption, WindowDropped))]
    assert [type(e) for e in evs] == [Caption, WindowDropped] and evs[1].filter == "empty"
    assert [p for _, p in w.decoder.calls] == [None, None, "That is all."]


def test_the_joint_decode_is_read_in_the_language_of_the_windows_decode_alone():
    w, events = _worker(["He was not", "and he will suppose young man.",
                         "an ill-disposed young man."])
    w.handle_final(_window(0, 1.0, 1.2))
    w.handle_final(_window(1, 3.0, 1.5))
    assert w.decoder.languages == [None, None, "en"]  # no detection on the context's audio


def test_a_joint_decode_that_is_not_used_still_counts_in_the_windows_time():
    w, events = _worker(["He was not", "and he will suppose young man.", ""])
    w.handle_final(_window(0, 1.0, 1.2))
    w.handle_final(_window(1, 3.0, 1.5))
    evs = queued(events)
    assert [e.text for e in evs if isinstance(e, Caption)][-1] == "and he will suppose young man."
    assert [t.encode_s for t in evs if isinstance(t, WindowTimings)] == [1.0, 2.0]


def test_hotwords_turn_the_context_off():
    # a decode forced through a prefix has no hotwords (faster-whisper's rule): they win
    w, events = _worker(["He was not", "an ill-disposed young man."], hotwords="Schoeffer")
    w.handle_final(_window(0, 1.0, 1.2))
    w.handle_final(_window(1, 3.0, 1.5))
    assert [p for _, p in w.decoder.calls] == [None, None]


def test_with_stable_words_both_readings_keep_them():
    from streamer.decoding.keeping import decode_keeping

    reader = Reader(["So the plan is", "So the plan was to ship it"])
    ctx = AudioContext(gap_s=1.0, max_s=10.0)
    ctx.keep(_window(0, 1.0, 1.2), "Right.")
    w = _window(1, 3.0, 1.5)
    r = decode_keeping(reader, w, ctx.joint(w), "So the plan")
    assert r.text == "So the plan was to ship it" and r.own.text == "So the plan is"
    assert [p for _, p in reader.calls] == [None, "Right."]

"""Partials: the segmenter's snapshots, the worker's stability policy and scheduling, the sinks.

Fast tier: a scripted detector drives the segmenter and a scripted decoder stands in for the
model inside a real :class:`InferenceWorker` (its methods called on this thread, so nothing
races); the replay with the real model is in tests/test_partials_model.py.
"""

from __future__ import annotations

import io
import json
import queue
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import queued
from streamer.decoding.result import DecodeResult
from streamer.events import Caption, Partial, WindowDropped, Word
from streamer.segmentation.window import SpeechWindow
from streamer.decoding.filter_options import FilterOptions
from streamer.decoding.decoder import DecodingOptions
from streamer.segmentation.options import VadOptions
from streamer.output.sinks import make_sink
from streamer.decoding.stability import agreed_prefix
from streamer.decoding.worker import InferenceWorker, SnapshotSlot
from test_segmenter import FS, run

SNAP = VadOptions(partial_interval_ms=300)  # a snapshot every 10 frames


# -- segmenter ---------------------------------------------------------------------------------

def test_snapshots_while_speech_goes_on_then_at_the_pause_with_the_final_index():
    script = "." * 20 + "S" * 40 + "." * 30 + "S" * 20 + "." * 30
    seg, out = run(script, SNAP)
    finals = [w for w in out if not w.is_snapshot]
    snaps = [w for w in out if w.is_snapshot]
    assert [w.index for w in finals] == [0, 1]
    first = [w for w in snaps if w.index == 0]
    # first once 300 ms of confirmed speech is held (onset 2 frames + 8), then every 10 frames
    assert [round(w.speech_end_s / FS) for w in first if w.reason == "partial"] == \
        [20 + 10, 20 + 20, 20 + 30, 20 + 40]
    pauses = [w for w in first if w.reason == "pause"]
    assert len(pauses) == 1 and pauses[0].speech_bounds == finals[0].speech_bounds
    assert all(w.index == 1 for w in snaps if w.start_s > finals[0].end_s)
    assert seg.windows == 2  # snapshots are not windows


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from("SSSv.."), min_size=30, max_size=400))
def test_snapshots_never_change_the_final_windows(chars):
    script = "".join(chars) + "." * 15
    _, plain = run(script)
    _, with_snaps = run(script, SNAP)
    finals = [w for w in with_snaps if not w.is_snapshot]
    assert [(w.index, w.start_s, w.end_s, w.speech_bounds) for w in finals] == \
        [(w.index, w.start_s, w.end_s, w.speech_bounds) for w in plain]
    for w in with_snaps:  # a snapshot is a prefix of its utterance's final audio
        if w.is_snapshot:
            final = next(f for f in finals if f.index == w.index)
            assert final.start_s == w.start_s and w.end_s <= final.end_s


def test_snapshot_slot_keeps_the_newest_and_counts_the_replaced():
    slot = SnapshotSlot()
    assert slot.take() is None
    a, b = _window(0, 1.0, "partial"), _window(0, 1.5, "partial")
    slot.offer(a)
    slot.offer(b)
    assert slot.take() is b and slot.take() is None and slot.replaced == 1


# -- worker: stability and scheduling -----------------------------------------------------------

def _window(index: int, seconds: float, reason: str, speech_end: float | None = None) -> SpeechWindow:
    t = np.arange(int(seconds * 16000)) / 16000
    audio = (np.sin(2 * np.pi * 220 * t) * 3000).astype(np.int16)  # voiced-like: passes the gate
    return SpeechWindow(index=index, audio=audio, start_s=0.0, end_s=seconds, voiced_s=seconds,
                        captured_wall=0.0, reason=reason, speech_start_s=0.0,
                        speech_end_s=seconds if speech_end is None else speech_end,
                        confirmed_s=seconds, peak_speech_prob=0.9)


class ScriptedDecoder:
    """Returns the next scripted hypothesis, forced through ``prefix`` as the real one is.
    ``word_s``: its words are aligned as one every ``word_s`` seconds from the window's start
    (None: no alignment)."""

    def __init__(self, texts: list[str], word_s: float | None = None) -> None:
        self.texts = list(texts)
        self.prefixes: list[str | None] = []
        self.interim: list[bool] = []
        self.word_s = word_s
        self.aligned = 0

    def decode(self, audio, speech_s=None, previous_text=None, prefix=None,
               interim=False, language=None) -> DecodeResult:
        self.prefixes.append(prefix)
        self.interim.append(interim)
        text = self.texts.pop(0)
        if prefix and not text.startswith(prefix):
            text = prefix + " " + text.split(maxsplit=len(prefix.split()))[-1]

        def align():
            self.aligned += 1
            return tuple(Word(" " + t, i * self.word_s, (i + 1) * self.word_s, 0.9)
                         for i, t in enumerate(text.split()))

        return DecodeResult(text=text, language="en", avg_logprob=-0.2, no_speech_prob=0.01,
                            compression_ratio=1.1, feature_s=0.0, encode_s=0.0, decode_s=0.0,
                            align=align if self.word_s else None)

    def vote_language(self, result, speech_s=None) -> None:
        pass


def _worker(texts: list[str], early_finals: bool = True, word_s: float | None = None,
            word_timestamps: bool = False) -> tuple[InferenceWorker, queue.Queue]:
    events: queue.Queue = queue.Queue()
    w = InferenceWorker(lambda: None,
                        DecodingOptions(language="en", word_timestamps=word_timestamps),
                        FilterOptions(), queue.Queue(), events, commit_limit_s=17.0,
                        partials=True, early_finals=early_finals)
    w.decoder = ScriptedDecoder(texts, word_s)
    return w, events


def test_local_agreement_stable_prefix_only_grows_and_the_final_keeps_it():
    w, events = _worker(["So the", "So the plan is", "So, the plan was to", "So the plan was to ship",
                         "So the plan was to ship it."])
    for k, secs in enumerate((1.0, 1.5, 2.0, 2.5)):
        w.handle_snapshot(_window(0, secs, "partial"))
    w.handle_final(_window(0, 3.0, "end"))
    evs = [e for e in queued(events) if isinstance(e, (Partial, Caption))]
    partials = [e for e in evs if isinstance(e, Partial)]
    # LocalAgreement-3 against the decodes 0.5 s and 1.0 s earlier, the last shared word held
    # back unless two words follow it
    assert [p.stable for p in partials] == ["", "", "So the", "So the plan"]
    for p in partials:
        assert p.text.startswith(p.stable) and p.utterance == 0
    final = evs[-1]
    assert isinstance(final, Caption) and final.text == "So the plan was to ship it."
    assert final.utterance_id == 0
    # each free decode agreed with the stable words: none had to be forced through them
    assert w.decoder.prefixes == [None] * 5


def test_a_final_that_disagrees_with_the_stable_words_is_decoded_again_through_them():
    w, events = _worker(["Ask not", "Ask not what your", "Ask not what your country",
                         "S not what your country can do",  # the free final disagrees...
                         "Ask not what your country can do"])  # ...so it is forced
    for secs in (1.0, 1.5, 2.0):
        w.handle_snapshot(_window(0, secs, "partial"))
    w.handle_final(_window(0, 3.0, "end"))
    evs = queued(events)
    stable = [e.stable for e in evs if isinstance(e, Partial)][-1]
    final = [e for e in evs if isinstance(e, Caption)][0]
    assert stable == "Ask not" and final.text.startswith(stable)
    assert w.decoder.prefixes[-2:] == [None, "Ask not"]
    assert w.decoder.interim == [True] * 3 + [False] * 2  # the forced final at the full beam


def test_only_snapshots_taken_every_half_second_are_interim_decodes():
    """Snapshots taken every 0.5 s of speech (``"partial"``) are interim decodes (at
    ``interim_beam_size``: :meth:`WindowDecoder.decode`), their forced decodes too; a ``"pause"`` snapshot
    (a final's text when the utterance ends there) and a final are not."""
    w, events = _worker(["Ask not", "Ask not what your", "Ask not what your country",
                         "S not what your country can",  # disagrees: forced, still interim
                         "Ask not what your country can", "Ask not what your country can do",
                         "Ask not what your country can do for you"])
    for secs, reason in ((1.0, "partial"), (1.5, "partial"), (2.0, "partial"), (2.5, "partial"),
                         (3.0, "pause")):
        w.handle_snapshot(_window(0, secs, reason))
    w.handle_final(_window(0, 3.5, "end"))
    assert w.decoder.prefixes == [None, None, None, None, "Ask not", None, None]
    assert w.decoder.interim == [True] * 5 + [False] * 2
    assert [e.text for e in queued(events) if isinstance(e, Caption)][-1].endswith("for you")


def test_decodes_of_nearly_the_same_audio_do_not_make_words_stable():
    w, events = _worker(["S not", "S not", "S not at all", "Ask not at all"])
    w.handle_snapshot(_window(0, 0.6, "partial"))
    w.handle_snapshot(_window(0, 0.7, "pause"))  # 0.1 s more audio: no evidence
    w.handle_snapshot(_window(0, 0.9, "partial"))  # under a second of audio: nothing commits
    w.handle_snapshot(_window(0, 1.4, "partial"))
    assert [e.stable for e in queued(events) if isinstance(e, Partial)] == ["", "", "", ""]


def test_no_word_is_made_stable_past_the_commit_limit():
    w, events = _worker(["a b c", "a b c d", "a b c d e"])
    w.handle_snapshot(_window(0, 16.0, "partial"))
    w.handle_snapshot(_window(0, 17.5, "partial"))  # beyond commit_limit_s: nothing commits
    w.handle_snapshot(_window(0, 18.0, "partial"))
    assert [e.stable for e in queued(events) if isinstance(e, Partial)] == ["", "", ""]


def test_final_first_a_snapshot_of_an_ended_utterance_is_skipped_and_counted():
    w, events = _worker(["Hello there."])
    w.handle_final(_window(0, 2.0, "end"))
    w.handle_snapshot(_window(0, 1.5, "partial"))  # its final came first
    assert w.partials == 0 and w.partials_skipped == 1
    assert [type(e) for e in queued(events) if not isinstance(e, Partial)].count(Caption) == 1


def test_a_final_ending_where_the_pause_snapshot_did_reuses_its_decode():
    w, events = _worker(["Hello", "Hello there."])
    w.handle_snapshot(_window(0, 1.0, "partial"))
    w.handle_snapshot(_window(0, 1.6, "pause", speech_end=1.6))
    final = _window(0, 1.9, "end", speech_end=1.6)  # same speech, 300 ms of silence after it
    w.handle_final(final)
    caps = [e for e in queued(events) if isinstance(e, Caption)]
    assert [c.text for c in caps] == ["Hello there."]
    assert w.finals_reused == 1 and len(w.decoder.prefixes) == 2  # no third decode


def test_without_partials_a_pause_decode_is_the_final_and_shows_nothing_before():
    events: queue.Queue = queue.Queue()
    w = InferenceWorker(lambda: None, DecodingOptions(language="en"), FilterOptions(),
                        queue.Queue(), events, pause_decodes=True)
    w.decoder = ScriptedDecoder(["Hello there.", "never decoded"])
    w.handle_snapshot(_window(0, 1.75, "pause", speech_end=1.6))  # while the pause lasts
    assert queued(events) == []  # no partial
    w.handle_final(_window(0, 1.75, "end", speech_end=1.6))  # the same audio, once the pause ended
    caps = [e for e in queued(events) if isinstance(e, Caption)]
    assert [c.text for c in caps] == ["Hello there."]
    assert w.finals_reused == 1 and w.partials == 0 and len(w.decoder.prefixes) == 1


def test_a_partial_passes_the_filters_a_final_would():
    w, events = _worker(["♪ ♪ ♪"])  # no letters or digits: the non-text filter drops it
    w.handle_snapshot(_window(0, 1.0, "partial"))
    assert w.partials == 0 and not [e for e in queued(events) if isinstance(e, Partial)]


def test_agreed_prefix_ignores_case_and_punctuation():
    assert agreed_prefix("So, the plan".split(), "so the plan is".split()) == 3
    assert agreed_prefix("the wizard".split(), "the wizards".split()) == 1
    assert agreed_prefix([], "a".split()) == 0


# -- sinks ---------------------------------------------------------------------------------------

def _p(text: str, stable: str, u: int = 0) -> Partial:
    return Partial(utterance=u, text=text, stable=stable, start_s=1.0, end_s=2.0, emitted_wall=0.0)


def _c(text: str, u: int = 0) -> Caption:
    return Caption(text=text, start_s=1.0, end_s=2.5, latency_s=0.4, language="en",
                   avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.1, window_index=u,
                   emitted_wall=0.0)


def test_text_sink_rewrites_the_partial_line_in_place_and_prints_the_final_once():
    out = io.StringIO()
    sink = make_sink("text", out, partials=True)
    sink.write_partial(_p("Hello there my", "Hello"))
    sink.write_partial(_p("Hello there", "Hello"))  # shorter: spaces cover the rest
    sink.write(_c("Hello there."))
    sink.write(_c("Next."))
    assert out.getvalue() == "\rHello there my\rHello there   \rHello there.\nNext.\n"
    assert "\x1b" not in out.getvalue()


def test_text_sink_without_partials_prints_finals_only():
    out = io.StringIO()
    sink = make_sink("text", out)
    sink.write_partial(_p("Hello", ""))
    sink.write(_c("Hello there."))
    assert out.getvalue() == "Hello there.\n"


@pytest.mark.parametrize("partials", [True, False])
def test_jsonl_lines_carry_type_and_utterance(partials):
    out = io.StringIO()
    sink = make_sink("jsonl", out, partials=partials)
    sink.write_partial(_p("Hello there", "Hello", u=4))
    sink.write(_c("Hello there.", u=4))
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    if partials:
        assert lines[0] == {"type": "partial", "utterance": 4, "text": "Hello there",
                            "stable": "Hello", "start": 1.0, "end": 2.0}
    assert lines[-1]["type"] == "final" and lines[-1]["utterance"] == 4
    assert {"text", "start", "end", "latency", "avg_logprob", "no_speech_prob"} <= set(lines[-1])
    assert len(lines) == (2 if partials else 1)


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_hold_finals_only(fmt):
    out = io.StringIO()
    sink = make_sink(fmt, out, partials=True)
    sink.write_partial(_p("Hello", ""))
    sink.write(_c("Hello there."))
    assert "Hello there." in out.getvalue() and out.getvalue().count("Hello") == 1


def test_stable_text_keeps_whispers_punctuation_once_the_next_word_is_stable():
    w, events = _worker(["Hello there.", "Hello there. How are", "Hello there. How are you",
                         "Hello there. How are you doing"], early_finals=False)
    for secs in (1.0, 1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    stables = [e.stable for e in queued(events) if isinstance(e, Partial)]
    # the period comes back appended once the next word is stable
    assert stables == ["", "", "Hello there", "Hello there. How are"]


# -- early finals ----------------------------------------------------------------------------

SENTENCES = ["Hello there.", "Hello there. How are", "Hello there. How are you",
             "Hello there. How are you doing", "Hello there. How are you doing today?"]


def test_a_settled_sentence_is_a_caption_before_its_utterance_ends():
    w, events = _worker(SENTENCES)
    for secs in (1.0, 1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    evs = queued(events)
    caps = [e for e in evs if isinstance(e, Caption)]
    # three decodes, each 0.5 s longer, keep the full stop of "Hello there."
    assert [c.text for c in caps] == ["Hello there."] and caps[0].utterance_id == 0
    assert evs.index(caps[0]) == 2  # emitted by the 2.0 s snapshot, before its partial
    # no word times: it ends where the oldest agreeing hypothesis's audio did (1.0 s)
    assert caps[0].start_s == 0.0 and caps[0].end_s == 1.0
    last = [e for e in evs if isinstance(e, Partial)][-1]
    assert last.text == "How are you doing" and last.stable == "How are"
    assert last.start_s == 1.0  # partials show only what is not final
    w.handle_final(_window(0, 3.0, "end"))
    (rest,) = [e for e in queued(events) if isinstance(e, Caption)]
    assert rest.text == "How are you doing today?" and rest.start_s == 1.0
    assert rest.utterance_id == 0 and w.captions == 2
    # the final was forced through nothing new: the free decode agreed with the stable words
    assert w.decoder.prefixes == [None] * 5


def test_a_early_final_ends_where_the_alignment_puts_its_last_word():
    w, events = _worker(SENTENCES, word_s=0.4, word_timestamps=True)
    for secs in (1.0, 1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    (cap,) = [e for e in queued(events) if isinstance(e, Caption)]
    assert cap.end_s == pytest.approx(0.8)  # "there." is the second word: 0.4-0.8 s
    assert [x.text for x in cap.words] == [" Hello", " there."]
    assert w.decoder.aligned == 1
    w.handle_final(_window(0, 3.0, "end"))
    (rest,) = [e for e in queued(events) if isinstance(e, Caption)]
    assert rest.start_s == pytest.approx(0.8)
    assert [x.text for x in rest.words] == [" How", " are", " you", " doing", " today?"]


def test_a_cut_loop_keeps_only_the_timed_words_of_its_text():
    """A loop cut by the filter chain, or by the decoder (its fallback keeps the longest decode
    cut, aligned whole): the caption's timed words are those of its text."""
    w, events = _worker(["Papa Papa Papa Papa Papa Papa"], early_finals=False, word_s=0.2,
                        word_timestamps=True)
    w.handle_final(_window(0, 1.5, "end"))
    (cap,) = [e for e in queued(events) if isinstance(e, Caption)]
    assert cap.text == "Papa" and [x.text for x in cap.words] == [" Papa"]
    w, events = _worker(["Papa Papa Papa Papa Papa Papa"], early_finals=False, word_s=0.2,
                        word_timestamps=True)
    decode = w.decoder.decode
    w.decoder.decode = lambda *a, **k: replace(decode(*a, **k), text="Papa")  # cut, aligned whole
    w.handle_final(_window(0, 1.5, "end"))
    (cap,) = [e for e in queued(events) if isinstance(e, Caption)]
    assert cap.text == "Papa" and [x.text for x in cap.words] == [" Papa"]


def test_a_early_final_keeps_the_clock_of_its_captions():
    """emission wall = wall of stream time 0 + end + latency, for an early final too."""
    w, events = _worker(SENTENCES)
    wall0 = 1000.0  # wall time of stream time 0 (1x replay)
    for secs in (1.0, 1.5, 2.0, 2.5):
        win = replace(_window(0, secs, "partial"), captured_wall=wall0 + secs,
                      speech_end_wall=wall0 + secs)
        w.handle_snapshot(win)
    (cap,) = [e for e in queued(events) if isinstance(e, Caption)]
    assert cap.emitted_wall == pytest.approx(wall0 + cap.end_s + cap.latency_s)


def test_text_that_stopped_growing_is_final_and_the_utterance_end_adds_nothing():
    """Background talk keeps the detector open; the speaker's sentence is final once three
    decodes over a second of growth say nothing more, and the end is not a second caption."""
    said = "We ship on Friday."
    w, events = _worker([said] * 4)
    for secs in (1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    evs = queued(events)
    assert [e.text for e in evs if isinstance(e, Caption)] == [said]
    assert not isinstance(evs[-1], Partial)  # nothing left to show as interim
    w.handle_final(_window(0, 4.0, "end"))
    evs = queued(events)
    assert [e for e in evs if isinstance(e, Caption)] == []
    (drop,) = [e for e in evs if isinstance(e, WindowDropped)]
    assert drop.filter == "already_final" and w.filtered == {}


INVENTED = "You can find the link in the description."


@pytest.mark.parametrize("free, forced", [
    # the final reads a word otherwise, and nothing after: no decode forced through the word
    ("It imitates a much freer hand.", False),
    # it ends elsewhere: a word may follow, so it is decoded forced through the early final
    ("It a much freer hand. Yes", True),
    # more words than the early final, ending on the same word: something may follow
    ("It imitates a much freer hand, a freer hand.", True),
    # an empty decode says nothing either way
    ("", True),
])
@pytest.mark.parametrize("batched", [False, True])
def test_a_final_with_nothing_after_its_early_finals_is_not_forced_through_them(free, forced,
                                                                                 batched):
    """Forced through a word the audio does not hold ("mutates"), a decode with nothing left
    to read may invent a sentence after it."""
    said = "It mutates a much freer hand."
    w, events = _worker([said] * 3 + [free, said + " " + INVENTED])
    for secs in (1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    assert [e.text for e in queued(events) if isinstance(e, Caption)] == [said]
    final = _window(0, 3.0, "end", speech_end=2.4)  # 0.9 s of speech after the early final
    # a server's scheduler runs the free decode in a batch and hands it over
    w.handle_final(final, w.decoder.decode(final.audio) if batched else None)
    evs = queued(events)
    caps = [e.text for e in evs if isinstance(e, Caption)]
    if forced:
        assert w.decoder.prefixes[-1] == said and caps == [INVENTED]
    else:
        assert w.decoder.prefixes == [None] * 4 and caps == []
        assert [e.filter for e in evs if isinstance(e, WindowDropped)] == ["already_final"]


def test_a_pause_decode_with_nothing_after_its_early_finals_is_not_forced_either():
    """The final of an utterance that ends where its pause snapshot did reuses that decode:
    the guard holds for snapshots too, or the invented sentence is a partial, then a caption."""
    said = "It mutates a much freer hand."
    w, events = _worker([said] * 3 + ["It imitates a much freer hand.", said + " " + INVENTED])
    for secs in (1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    w.handle_snapshot(_window(0, 3.0, "pause", speech_end=2.4))
    w.handle_final(_window(0, 3.0, "end", speech_end=2.4))
    evs = queued(events)
    assert [e.text for e in evs if isinstance(e, Caption)] == [said] and w.finals_reused == 1
    assert not any(INVENTED in e.text for e in evs if isinstance(e, Partial))
    assert w.decoder.prefixes == [None] * 4


def test_a_final_whose_speech_goes_on_after_its_early_finals_is_forced_through_them():
    """A long window's free decode may stop at the early finals while speech follows them
    (tiny.en under babble, 6 s of it): past NOTHING_AFTER_MAX_S the forced decode reads on."""
    said = "It mutates a much freer hand."
    w, events = _worker([said] * 3 + ["It imitates a much freer hand.", said + " Unless we go."])
    for secs in (1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    queued(events)
    w.handle_final(_window(0, 8.0, "end"))  # 6.5 s of speech after the early final (1.5 s)
    assert [e.text for e in queued(events) if isinstance(e, Caption)] == ["Unless we go."]
    assert w.decoder.prefixes[-1] == said


def test_a_forced_decode_that_reads_its_early_finals_again_adds_nothing():
    """Forced through early finals that already hold what was said, a decode may read the
    audio a second time after them (tiny.en, babble20, a beam-5 final): not a caption."""
    said = "It mutates a much freer hand."
    w, events = _worker([said] * 3 + ["It imitates a much freer hand.",
                                      said + " It imitates a much freer hand."])
    for secs in (1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    queued(events)
    w.handle_final(_window(0, 8.0, "end"))  # past NOTHING_AFTER_MAX_S: forced
    evs = queued(events)
    assert w.decoder.prefixes[-1] == said and not [e for e in evs if isinstance(e, Caption)]
    assert [e.filter for e in evs if isinstance(e, WindowDropped)] == ["already_final"]


@pytest.mark.parametrize("continuation, copy", [
    ("the aforesaid Guttenberg Bible, is printed in letters which are an exact imitation.", True),
    ("which are an exact imitation.", True),  # the tail of the prefix, read again
    ("an exact imitation.", False),  # three words: a speaker may say them twice
    ("Especially as regards the lower case letters.", False),  # new words
    ("It is printed in letters, which are an exact copy of the hand.", False),  # too different
])
def test_a_copy_of_the_prefix_is_told_from_new_words(continuation, copy):
    from streamer.decoding.early_finals import copies_prefix

    prefix = ("The earliest book printed with movable type, the aforementioned Guttenberg "
              "Bible, is printed in letters which are an exact imitation.").split()
    assert copies_prefix(prefix, continuation.split()) is copy
    assert not copies_prefix(prefix[:3], continuation.split())  # longer than the prefix


def test_a_stable_word_shown_after_the_early_finals_is_still_forced():
    """A partial promised a stable word after the early finals: a free decode that lacks it
    is forced through it (the guard never drops a word a reader saw as stable)."""
    from streamer.decoding.early_finals import nothing_after

    early = "It mutates a much freer hand.".split()
    free = "It imitates a much freer hand.".split()
    assert not nothing_after(free, early + ["So"], len(early))
    assert nothing_after(free, early, len(early))


def test_unpunctuated_text_that_stopped_growing_is_final_too():
    """Whisper leaves long noisy stretches unpunctuated: text that stops growing is settled."""
    w, events = _worker(["and type very similar", "and type very similar",
                         "and type very similar", "and type very similar was used"])
    for secs in (1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    assert [e.text for e in queued(events) if isinstance(e, Caption)] == ["and type very similar"]
    w.handle_final(_window(0, 3.5, "end"))
    (rest,) = [e for e in queued(events) if isinstance(e, Caption)]
    # the 2.5 s decode heard nothing after them: the rest starts after 2.5 s less the edge
    assert rest.text == "was used" and rest.start_s == 2.0


@pytest.mark.parametrize("texts", [
    ["We ship on", "We ship on Friday", "We ship on Friday the"],  # still growing
    ["Ask Mr.", "Ask Mr. Smith", "Ask Mr. Smith about"],  # a title, not a sentence end
    ["So...", "So... we", "So... we will"],  # trailing off
    ["Hello there.", "Hello there. How", "Hello there, how"],  # the newest reads on
])
def test_no_early_final_where_the_text_is_not_settled(texts):
    w, events = _worker(texts)
    for secs in (1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    assert [e for e in queued(events) if isinstance(e, Caption)] == []


def test_early_finals_without_partials_show_no_interim_text():
    events: queue.Queue = queue.Queue()
    w = InferenceWorker(lambda: None, DecodingOptions(language="en"), FilterOptions(),
                        queue.Queue(), events, commit_limit_s=17.0, pause_decodes=True,
                        early_finals=True)
    w.decoder = ScriptedDecoder(SENTENCES)
    for secs in (1.0, 1.5, 2.0, 2.5):
        w.take_snapshot()  # the worker takes snapshots for early finals
        w.handle_snapshot(_window(0, secs, "partial"))
    w.handle_final(_window(0, 3.0, "end"))
    evs = queued(events)
    assert [e for e in evs if isinstance(e, Partial)] == [] and w.partials == 0
    assert [e.text for e in evs if isinstance(e, Caption)] == ["Hello there.",
                                                                "How are you doing today?"]
    assert w._utt is None and w.decoder.prefixes == [None] * 5


def test_without_partials_only_early_final_words_are_forced_on_later_decodes():
    """Stable words are a promise to a reader of partials: unshown, the final is free but for
    the words already captioned."""
    events: queue.Queue = queue.Queue()
    w = InferenceWorker(lambda: None, DecodingOptions(language="en"), FilterOptions(),
                        queue.Queue(), events, commit_limit_s=17.0, early_finals=True)
    w.decoder = ScriptedDecoder(["Ask not what", "Ask not what your", "Ask not what your land",
                                 "S not what your country can do"])
    for secs in (1.0, 1.5, 2.0):
        w.handle_snapshot(_window(0, secs, "partial"))
    w.handle_final(_window(0, 3.0, "end"))
    (cap,) = [e for e in queued(events) if isinstance(e, Caption)]
    assert cap.text == "S not what your country can do" and w.decoder.prefixes == [None] * 4


def test_words_after_an_early_final_start_after_what_a_decode_heard_as_quiet():
    """Through background talk the alignment may pull the next word back to the early final's
    end; a decode that heard nothing more bounds it."""
    w, events = _worker(["Stop.", "Stop.", "Stop.", "Stop.", "Stop.", "Stop. Go on"],
                        word_s=0.3)
    for secs in (1.0, 1.5, 2.0, 2.5, 3.0):
        w.handle_snapshot(_window(0, secs, "partial"))
    w.handle_final(_window(0, 4.0, "end"))
    first, rest = [e for e in queued(events) if isinstance(e, Caption)]
    assert first.text == "Stop." and first.end_s == pytest.approx(0.3)
    # aligned, "Go" would start at 0.3 s; the 3.0 s decode heard nothing after "Stop."
    assert rest.text == "Go on" and rest.start_s == pytest.approx(3.0 - 0.5)


def test_an_early_final_holds_every_stable_word_shown():
    """A partial's stable words are promised to the next caption: an early final never ends
    before them (the oldest hypothesis lacked the full stop when they became stable)."""
    from streamer.decoding.stability import UtteranceState

    utt = UtteranceState(0)
    hyps = ["Hello there How are you doing", "Hello there. How are you doing today",
            "Hello there. How are you doing today and", "Hello there. How are you doing today and I"]
    for n, text in zip((16000, 24000, 32000, 40000), hyps):
        utt.commit(n, text.split())
        utt.history.append((n, text.split()))
    assert utt.stable.split()[:6] == "Hello there. How are you doing".split()
    assert utt.early_final(48000, (hyps[-1] + " am").split()) is None  # not "Hello there."


def test_a_snapshot_past_a_waiting_final_is_skipped_and_that_final_keeps_its_early_finals():
    """The scheduler checks for a final, then takes a snapshot: the segmenter may queue final
    0 and offer a snapshot of utterance 1 in between."""
    w, events = _worker([*SENTENCES[:4], "Another one", "Hello there. How are you doing today?"])
    for secs in (1.0, 1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    w.handle_snapshot(_window(1, 1.0, "partial"))  # utterance 1, while final 0 waits
    assert w.partials_skipped == 1
    w.handle_final(_window(0, 3.0, "end"))
    caps = [e.text for e in queued(events) if isinstance(e, Caption)]
    assert caps == ["Hello there.", "How are you doing today?"]  # no word twice


def test_the_rest_of_a_capped_utterance_is_not_bounded_by_audio_past_the_cut():
    """Snapshots run past where a cap cuts; what they heard as quiet there does not move the
    cap window's caption out of its own speech."""
    from streamer.decoding.early_finals import next_start
    from streamer.decoding.stability import UtteranceState

    utt = UtteranceState(0)
    utt.final_words, utt.final_end_s, utt.quiet_until_s = 2, 10.0, 19.0
    cap = replace(_window(0, 18.0, "cap"), speech_end_s=18.0)
    assert next_start(utt, cap, ()) == 10.0
    assert next_start(utt, _window(0, 20.0, "end"), ()) == 19.0


def test_word_times_stay_within_their_caption():
    w, events = _worker(["Stop.", "Stop.", "Stop.", "Stop.", "Stop.", "Stop. Go on"],
                        word_s=0.3, word_timestamps=True)
    for secs in (1.0, 1.5, 2.0, 2.5, 3.0):
        w.handle_snapshot(_window(0, secs, "partial"))
    w.handle_final(_window(0, 4.0, "end"))
    for cap in [e for e in queued(events) if isinstance(e, Caption)]:
        assert cap.words and all(cap.start_s <= x.start_s <= x.end_s <= cap.end_s
                                 for x in cap.words)


def test_early_finals_off_wait_for_the_end_of_the_utterance():
    w, events = _worker(SENTENCES, early_finals=False)
    for secs in (1.0, 1.5, 2.0, 2.5):
        w.handle_snapshot(_window(0, secs, "partial"))
    w.handle_final(_window(0, 3.0, "end"))
    assert [e.text for e in queued(events) if isinstance(e, Caption)] == [SENTENCES[-1]]


def test_a_early_final_is_never_past_the_commit_limit():
    w, events = _worker(["A b.", "A b. C", "A b. C d"])
    for secs in (17.1, 17.6, 18.1):  # beyond commit_limit_s (17 s): a cap may cut there
        w.handle_snapshot(_window(0, secs, "partial"))
    assert [e for e in queued(events) if isinstance(e, Caption)] == []


def test_a_final_ends_the_partials_of_its_utterance():
    w, events = _worker(["One. Two."])
    w.handle_final(_window(1, 1.0, "end"))
    (cap,) = [e for e in queued(events) if isinstance(e, Caption)]
    assert cap.window_index == 1 and cap.utterance_id == 1
    w.handle_snapshot(_window(1, 0.8, "partial"))  # a late snapshot of it: stale
    w.handle_snapshot(_window(0, 0.8, "partial"))  # and of an earlier one
    assert w.partials == 0 and w.partials_skipped == 2


def test_a_window_whose_words_were_all_captioned_is_not_a_drop_to_the_ui():
    from tui.session import SessionView

    view = SessionView()
    view.apply(WindowDropped(3, 0.0, 4.0, "already_final", "every word ...", ""))
    view.apply(WindowDropped(4, 5.0, 6.0, "no_speech", "no_speech_prob 0.9", "you"))
    assert view.dropped == 1

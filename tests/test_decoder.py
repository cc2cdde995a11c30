"""WindowDecoder on real speech: short encoder context, language voting, bad options."""

from dataclasses import replace

import numpy as np
import pytest

from conftest import ASSETS, CLIPS, in_order, load_pcm, words
from streamer.capture.audio import int16_to_float32
from streamer.decoding.decoder import DecodingOptions, WindowDecoder
from streamer.decoding.models import ModelSpec


@pytest.fixture(scope="module")
def jfk_first_5s():
    return int16_to_float32(load_pcm(CLIPS["jfk"][0])[:5 * 16000])


@pytest.mark.model
@pytest.mark.parametrize("context", [10.0, None])
def test_short_and_full_context_decode_the_same_words(tiny_model, jfk_first_5s, context):
    d = WindowDecoder(tiny_model, options=DecodingOptions(encoder_context_s=context))
    r = d.decode(jfk_first_5s)
    assert in_order(["so", "my", "fellow", "americans"], words(r.text)), r.text
    assert r.language == "en" and r.avg_logprob < 0 and 0 <= r.no_speech_prob <= 1
    assert r.encode_s > 0 and r.decode_s > 0


@pytest.mark.model
def test_language_is_fixed_only_by_kept_captions(jfk_first_5s):
    d = WindowDecoder(ModelSpec("base"))
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(5 * 16000) * 0.02).astype(np.float32)
    r_noise = d.decode(noise)
    assert d.language is None  # decoding alone never fixes the session language
    r = d.decode(jfk_first_5s)
    assert r.detected_language == "en" and r.language == "en"
    d.vote_language(r)  # the worker votes for captions that passed the filters
    assert d.language == "en"
    d.vote_language(r_noise)  # once fixed, later votes change nothing
    assert d.language == "en"


def test_options_are_validated():
    with pytest.raises(ValueError):
        DecodingOptions(beam_size=0)
    with pytest.raises(ValueError):
        DecodingOptions(interim_beam_size=0)
    with pytest.raises(ValueError):
        DecodingOptions(encoder_context_s=45)


@pytest.mark.model
def test_a_looping_decode_is_decoded_again_in_timestamp_mode_then_with_the_full_context(
        tiny_model, jfk_first_5s):
    """A loop check that every text fails (loop compression ratio 0.1) forces the whole fallback
    chain: plain, then timestamps, then the 30 s context; the kept text is still the speech."""
    d = WindowDecoder(tiny_model, options=DecodingOptions(loop_compression_ratio=0.1))
    r = d.decode(jfk_first_5s)
    assert r.attempts == ("plain:loop", "timestamps:loop", "full:loop")
    assert in_order(["fellow", "americans"], words(r.text)), r.text
    clean = WindowDecoder(tiny_model).decode(jfk_first_5s)
    assert clean.attempts == ("plain",)  # a clean decode is decoded once
    assert r.encode_s > clean.encode_s  # three decodes' timings are summed


@pytest.mark.model
def test_spanish_is_detected_and_decoded_by_base():
    """A real Spanish prompt (assets/asterisk_es_agent-newlocation.flac) with base and no
    language set: detected as Spanish, decoded in Spanish."""
    pcm = int16_to_float32(load_pcm(ASSETS / "asterisk_es_agent-newlocation.flac"))
    d = WindowDecoder(ModelSpec("base"))
    r = d.decode(pcm)
    assert r.detected_language == "es" and r.language == "es"
    assert in_order(["favor", "ingrese", "nueva"], words(r.text)), r.text


@pytest.mark.model
def test_a_short_english_word_is_detected_as_english_on_the_full_input():
    """A real 1 s prompt ("sixteenth", assets/asterisk_en_digits__h-16.flac) with base and no
    language set: detected on its sized context (as before) base puts Japanese first at 0.68,
    which would have fixed the session's language; on Whisper's 30 s input, English. A window
    that short votes, but only a longer one fixes the language at once."""
    pcm = int16_to_float32(load_pcm(ASSETS / "asterisk_en_digits__h-16.flac"))
    d = WindowDecoder(ModelSpec("base"))
    r = d.decode(pcm)
    assert r.detected_language == "en" and r.language == "en", r
    assert r.language_probability > d.options.language_detection_threshold
    d.vote_language(r, speech_s=0.9)  # a short word votes, and does not fix the language alone
    assert d.language is None
    d.vote_language(r, speech_s=1.5)  # ...which a confident window of 1.5 s does
    assert d.language == "en"
    assert "16" in r.text or "sixteenth" in words(r.text), r.text
    # the sized context alone would have read another language: the case the full input fixes
    from streamer.decoding import batch

    job = batch.Job(d, pcm, None, True)
    feats, frames = batch._features(job, "plain")
    enc = d.model.encode(batch._fit(feats, frames)[None])
    top = d.model.model.detect_language(enc)[0][0]
    assert frames < 3000 and top[0] != "<|en|>", top


def _voter() -> WindowDecoder:
    """A decoder's language state without a model: what ``vote_language`` reads."""
    d = object.__new__(WindowDecoder)
    d.options, d.language, d._votes = DecodingOptions(), None, {}
    return d


def _said(lang: str, p: float):
    from types import SimpleNamespace

    return SimpleNamespace(detected_language=lang, language_probability=p)


def test_only_a_sure_window_of_enough_speech_fixes_the_language_at_once():
    d = _voter()
    d.vote_language(_said("ja", 0.9), speech_s=1.0)  # a short word: a vote only
    d.vote_language(_said("it", 0.6), speech_s=1.4)
    assert d.language is None
    d.detected = (16000, np.zeros(16000, np.float32), {"ja": 0.9})
    d.vote_language(_said("en", 0.8), speech_s=2.0)  # sure and long: its own, not the tally's
    assert d.language == "en" and d.detected is None  # nothing kept once it is fixed
    d = _voter()
    for lang, p in (("es", 0.4), ("it", 0.3), ("es", 0.45)):  # unsure: the most voted of 3
        d.vote_language(_said(lang, p), speech_s=3.0)
    assert d.language == "es"
    d = _voter()
    d.vote_language(_said("fr", 0.7))  # no length given: judged on its probability, as before
    assert d.language == "fr"


class Counting:
    """Stands in for faster-whisper's model around the detection: counts the encoder inputs'
    frames and returns set language probabilities for a 3000-frame input and for others."""

    class Inner:
        def __init__(self, outer) -> None:
            self.outer = outer

        def detect_language(self, encoder_output):
            self.outer.detected.append(encoder_output[0])
            return [self.outer.probs[encoder_output[0]] for _ in range(encoder_output[1])]

    class Features:
        nb_max_frames = 3000

    def __init__(self) -> None:
        self.encoded: list[tuple[int, int]] = []
        self.detected: list[int] = []  # frames of each detection's input
        self.model, self.feature_extractor = self.Inner(self), self.Features()
        self.probs = {3000: [("<|en|>", 0.9), ("<|ja|>", 0.05)],
                      1200: [("<|ja|>", 0.7), ("<|en|>", 0.2)]}

    def encode(self, batch):
        self.encoded.append(batch.shape[::2])  # (jobs, frames)
        return (batch.shape[-1], batch.shape[0])  # what detect_language above reads


def _session() -> WindowDecoder:
    d = _voter()
    d.detected = None  # a view's detection state, without a model
    return d


def test_only_jobs_that_detect_their_language_are_encoded_again_on_the_full_input():
    from streamer.decoding.batch import Job, _language_probs

    m = Counting()
    feats = [(np.zeros((80, 300), np.float32), 1200)] * 3
    audio = np.ones(16000, np.float32)
    jobs = [Job(_session(), audio, None, True), Job(_session(), audio, "en", False),
            Job(_session(), audio, None, True)]
    probs = _language_probs(m, jobs, feats, m.encode(np.zeros((3, 80, 1200), np.float32)), 1200)
    assert m.encoded == [(3, 1200), (2, 3000)]  # the batch, then the two detecting jobs alone
    assert [max(p, key=p.get) for p in probs] == ["en", "ja", "en"]
    m.encoded.clear()  # a language fixed: nothing more is encoded
    _language_probs(m, jobs[1:2], feats[:1], m.encode(np.zeros((1, 80, 1200), np.float32)), 1200)
    assert m.encoded == [(1, 1200)]
    m.encoded.clear()  # already the full input (the last fallback): its encoding is used
    probs = _language_probs(m, [Job(_session(), audio, None, True)], feats[:1],
                            m.encode(np.zeros((1, 80, 3000), np.float32)), 3000)
    assert m.encoded == [(1, 3000)] and max(probs[0], key=probs[0].get) == "en"


def test_a_growing_utterance_is_detected_again_only_when_its_audio_has_doubled():
    from streamer.decoding.batch import Job, _language_probs

    m, session = Counting(), _session()
    speech = np.random.default_rng(3).standard_normal(5 * 16000).astype(np.float32)
    feats = [(np.zeros((80, 300), np.float32), 1200)]

    def detect(seconds: float, audio: np.ndarray = speech) -> None:
        a = audio[:int(seconds * 16000)]
        _language_probs(m, [Job(session, a, None, True)], feats,
                        m.encode(np.zeros((1, 80, 1200), np.float32)), 1200)

    for seconds in (0.5, 0.7, 0.99, 1.0, 1.4, 1.5, 1.99, 2.9, 3.0, 4.5):  # snapshots, its final
        detect(seconds)
    fresh = [f for _, f in m.encoded].count(3000)
    # at 0.5, 1.0, 1.5 (the least speech that fixes a language: never voted with a detection
    # of less), 3.0 s; the final at 4.5 s takes the detection at 3.0 s
    assert fresh == 4 and session.detected[0] == 3 * 16000
    assert m.detected.count(1200) == 0  # every job detects on 30 s: the sized one is never read
    other = speech[::-1].copy()  # another utterance, as long as the last one grown: at once
    detect(4.5, other)
    assert [f for _, f in m.encoded].count(3000) == fresh + 1
    assert session.detected[0] == int(4.5 * 16000)


def test_interim_decodes_keep_their_utterances_detection_however_it_grew():
    """A partial is shown, then replaced: it reuses the utterance's last detection (each one is
    an encode of the full 30 s input) until it holds enough speech to fix a language, where a
    pause or final decode detects again once its audio has doubled too; the partials then
    follow that newer detection."""
    from streamer.decoding.batch import Job, _language_probs

    m, session = Counting(), _session()
    speech = np.random.default_rng(4).standard_normal(9 * 16000).astype(np.float32)
    feats = [(np.zeros((80, 300), np.float32), 1200)]

    def detect(seconds: float, interim: bool, audio: np.ndarray = speech) -> int:
        before = [f for _, f in m.encoded].count(3000)
        _language_probs(m, [Job(session, audio[:int(seconds * 16000)], None, True,
                                interim=interim)], feats,
                        m.encode(np.zeros((1, 80, 1200), np.float32)), 1200)
        return [f for _, f in m.encoded].count(3000) - before

    assert detect(0.7, True) == 1  # the utterance's first detection, by its first partial
    assert detect(1.4, True) == 0  # doubled: a partial keeps it
    assert detect(1.5, True) == 1  # enough speech to fix a language: detected once more
    assert [detect(s, True) for s in (3.0, 4.5, 6.0)] == [0, 0, 0]
    assert session.detected[0] == int(1.5 * 16000)
    assert detect(3.0, False) == 1  # a pause decode: doubled, detected again, remembered
    assert detect(8.5, True) == 0 and session.detected[0] == 3 * 16000
    assert detect(1.0, True, speech[::-1].copy()) == 1  # another utterance: its own


# -- Whisper's own options: hotwords, word times (issue 15, item 8) -------------------------------

class Recording:
    """Stands in for the CTranslate2 model: records each ``generate`` prompt and delegates."""

    def __init__(self, real) -> None:
        self.real, self.prompts = real, []

    def generate(self, encoder_output, prompts, **kwargs):
        self.prompts.append(list(prompts[0]))
        return self.real.generate(encoder_output, prompts, **kwargs)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.mark.model
def test_hotwords_go_where_faster_whisper_puts_them(tiny_model, jfk_first_5s):
    """As ``WhisperModel.transcribe``'s ``get_prompt``: ``<|startofprev|>``, the hotwords,
    then any previous text, before the start-of-transcript sequence; none with a forced
    prefix."""
    d = WindowDecoder(tiny_model, options=DecodingOptions(hotwords="Americans, ask not",
                                                          fallback=False))
    d.model.model = rec = Recording(d.model.model)
    tok = d._tokenizer("en")
    hot = tok.encode(" Americans, ask not")
    r = d.decode(jfk_first_5s, previous_text="Good evening.")
    assert in_order(["fellow", "americans"], words(r.text))
    assert rec.prompts[-1][:1 + len(hot)] == [tok.sot_prev, *hot]
    assert rec.prompts[-1][1 + len(hot):].index(tok.sot) == len(tok.encode(" Good evening."))
    d.decode(jfk_first_5s, prefix="And so")
    assert tok.sot_prev not in rec.prompts[-1]


def test_hotword_tokens_are_cut_to_half_the_context():
    from streamer.decoding.prompt import hotword_tokens

    class Tok:
        def encode(self, text):
            return [ord(c) for c in text]

    assert hotword_tokens(Tok(), None, 224) == [] and hotword_tokens(Tok(), "  ", 224) == []
    assert hotword_tokens(Tok(), " ab ", 224) == [ord(" "), ord("a"), ord("b")]
    assert len(hotword_tokens(Tok(), "x" * 500, 224)) == 223


@pytest.mark.model
def test_word_times_lie_in_the_window_and_the_default_has_none(tiny_model, jfk_first_5s):
    plain = WindowDecoder(tiny_model).decode(jfk_first_5s)
    assert plain.words == ()  # nothing aligned; the alignment runs only when asked for
    assert plain.aligned().words and plain.aligned().text == plain.text
    decoded = WindowDecoder(tiny_model, options=DecodingOptions(word_timestamps=True)).decode(
        jfk_first_5s)
    assert decoded.words == ()  # nothing is aligned until the decode is kept
    r = decoded.aligned()
    assert r.align is None and r.words and r.aligned() is r
    assert r.text == plain.text  # aligning changes nothing in the decode
    assert words("".join(w.text for w in r.words)) == words(r.text)
    starts = [w.start_s for w in r.words]
    assert starts == sorted(starts) and all(0 <= w.start_s <= w.end_s <= 5.0 for w in r.words)
    fellow = next(w for w in r.words if "fellow" in w.text.lower())
    assert 0.5 < fellow.start_s < 2.5  # "fellow" is said about 1.4 s in


@pytest.mark.model
def test_an_interim_decode_gives_way_after_its_encode_when_asked(tiny_model, jfk_first_5s):
    from streamer.decoding.batch import Abandoned

    d = WindowDecoder(tiny_model)
    asked: list[bool] = []
    d.yield_to = lambda: asked.append(True) or True  # a final waits
    with pytest.raises(Abandoned):
        d.decode(jfk_first_5s, interim=True)
    assert asked == [True]  # asked once, after the encode
    final = d.decode(jfk_first_5s)  # a final or pause decode never gives way
    assert in_order(["so", "my", "fellow", "americans"], words(final.text)) and asked == [True]
    d.yield_to = lambda: False  # nothing waits: the interim decode runs
    interim = d.decode(jfk_first_5s, interim=True)
    assert in_order(["so", "my", "fellow", "americans"], words(interim.text)), interim.text


def test_an_interim_decode_uses_the_interim_beam_and_the_same_fallback(monkeypatch):
    """``decode(interim=True)`` (a snapshot taken every 0.5 s) runs at ``interim_beam_size``,
    every other decode at ``beam_size``; the loop fallback is the same for both. The model is
    replaced by a stand-in that records each decode's mode and beam and always loops."""
    from streamer.decoding import batch
    from streamer.decoding.result import DecodeResult

    seen: list[tuple[str, int | None]] = []

    def looping(jobs, mode="plain"):
        seen.append((mode, jobs[0].beam_size))
        return [DecodeResult(text="of about 1455, " * 12, language="en", avg_logprob=-0.3,
                             no_speech_prob=0.01, compression_ratio=3.0, feature_s=0.0,
                             encode_s=0.0, decode_s=0.0, attempts=(mode,))]

    monkeypatch.setattr(batch, "decode_many", looping)
    d = object.__new__(WindowDecoder)  # no weights: decode_many is the stand-in
    d.options, d.language = DecodingOptions(language="en", beam_size=5), "en"
    audio = np.zeros(3 * 16000, np.float32)
    r = d.decode(audio, interim=True)
    assert seen == [("plain", 1), ("timestamps", 1), ("full", 1)]
    assert r.text == "of about 1455,"  # every attempt looped: the loop is cut
    seen.clear()
    d.decode(audio)
    assert seen == [("plain", 5), ("timestamps", 5), ("full", 5)]
    assert DecodingOptions(beam_size=1, interim_beam_size=5).beam_for(interim=True) == 1


def test_a_batch_decodes_with_one_beam_size():
    """Jobs of one model but different beam sizes are refused before anything is decoded."""
    from streamer.decoding.batch import Job, decode_many

    d = object.__new__(WindowDecoder)
    d.model, d.options = object(), DecodingOptions(beam_size=5)
    audio = np.zeros(16000, np.float32)
    with pytest.raises(ValueError, match="one beam size"):
        decode_many([Job(d, audio, "en", False), Job(d, audio, "en", False, beam_size=1)])


def _reading(text: str, avg_logprob: float, mode: str = "plain", read_to_s: float = 3.0):
    """A decode reading ``text``, its words aligned evenly up to ``read_to_s`` seconds."""
    from streamer.decoding.result import DecodeResult
    from streamer.events import Word

    n = len(text.split())
    words = tuple(Word(t, i * read_to_s / n, (i + 1) * read_to_s / n, 0.9)
                  for i, t in enumerate(text.split()))
    return DecodeResult(text=text, language="en", avg_logprob=avg_logprob, no_speech_prob=0.05,
                        compression_ratio=1.0, feature_s=0.0, encode_s=0.0, decode_s=0.0,
                        attempts=(mode,), words=words)


def _scripted(monkeypatch, readings: dict[str, object]) -> tuple[WindowDecoder, list[str]]:
    """A decoder without weights whose decode in each mode reads ``readings[mode]``."""
    from streamer.decoding import batch

    seen: list[str] = []

    def read(jobs, mode="plain"):
        seen.append(mode)
        if mode == "full":  # read again in the language it was read in, detecting nothing
            assert (jobs[0].language, jobs[0].detect) == (readings["plain"].language, False)
        return [readings[mode]]

    monkeypatch.setattr(batch, "decode_many", read)
    d = object.__new__(WindowDecoder)
    d.options, d.language = DecodingOptions(language="en", beam_size=5), "en"
    return d, seen


def test_a_window_read_short_and_unsure_is_read_again_with_the_30_s_context(monkeypatch):
    """"Press 3 4" (avg_logprob -0.97) for 2.4 s of speech in 3 s of audio, its last word
    ending at 1.2 s: three words where 1.5 a second are expected, 1.8 s left unread; the 30 s
    reading is longer and sure, so it is the window's text."""
    audio = np.zeros(3 * 16000, np.float32)
    full = _reading("Press three for advanced options.", -0.23, "full")
    d, seen = _scripted(monkeypatch, {"plain": _reading("Press 3 4", -0.97, read_to_s=1.2),
                                      "full": full})
    r = d.decode(audio, speech_s=2.4)
    assert seen == ["plain", "full"] and r.text == full.text
    assert r.attempts == ("plain:short", "full") and not r.unrepaired
    # the 30 s reading no surer: kept as read
    d, seen = _scripted(monkeypatch, {"plain": _reading("Montreal.", -0.85, read_to_s=0.6),
                                      "full": _reading("Montreal, uh.", -1.77, "full")})
    r = d.decode(audio, speech_s=1.7)
    assert seen == ["plain", "full"] and r.text == "Montreal."
    assert r.attempts == ("plain", "full:unsure") and not r.unrepaired
    # ... or surer but no longer ("Montreal." -> "Montreal"): kept
    d, _ = _scripted(monkeypatch, {"plain": _reading("Montreal.", -0.67, read_to_s=1.0),
                                   "full": _reading("Montreal", -0.1, "full")})
    assert d.decode(audio, speech_s=1.5).text == "Montreal."
    # at any rate of words, and kept when surer than the short reading, however unsure: a quiet
    # voice under a fan, "Unless to be rather" (-1.13) with speech after it
    full = _reading("Unless to be rather cold-heartedly rather selfish.", -0.73, "full")
    d, _ = _scripted(monkeypatch, {"plain": _reading("Unless to be rather", -1.13,
                                                     read_to_s=1.2), "full": full})
    assert d.decode(audio, speech_s=2.0).text == full.text  # 2 words a second
    # the rule before: under 1.5 words a second, and the 30 s reading above -0.4
    d, seen = _scripted(monkeypatch, {"plain": _reading("Unless to be rather", -1.13,
                                                        read_to_s=1.2), "full": full})
    d.options = DecodingOptions(language="en", beam_size=5, short_read_words_per_s=1.5,
                                sure_log_prob=-0.4, whisper_log_prob=None)
    assert d.decode(audio, speech_s=2.0).text == "Unless to be rather" and seen == ["plain"]


def test_a_retry_read_short_and_unsure_is_read_again_with_the_30_s_context(monkeypatch):
    """A quiet voice under a fan (``levels_fan20``, dev03, 6.8 s): the first reading stops
    early ("And Mr John Dashwood", an early end), its timestamp-mode retry reads 11 words
    (clean, -0.69) but stops 2.8 s before the end; the 30 s reading goes on, surer: kept.
    A retry that reads to the end, or a 30 s reading under Whisper's -1.0 and the retry's
    figure, leaves the retry."""
    audio = np.zeros(int(6.8 * 16000), np.float32)
    first = _reading("And Mr John Dashwood", -0.93, read_to_s=1.5)
    retry = _reading("And Mr. John Dashwood had then leisure to consider how much", -0.69,
                     "timestamps", read_to_s=4.0)
    full = _reading("And Mr. John Dashwood had then leisure to consider how much there might"
                    " be proof that he and his family do for him.", -0.50, "full")
    d, seen = _scripted(monkeypatch, {"plain": first, "timestamps": retry, "full": full})
    r = d.decode(audio, speech_s=6.3)
    assert seen == ["plain", "timestamps", "full"] and r.text == full.text
    assert r.attempts == ("plain:early_end", "timestamps:short", "full")
    d, seen = _scripted(monkeypatch, {"plain": first, "timestamps": retry,
                                      "full": _reading(full.text, -1.2, "full")})
    r = d.decode(audio, speech_s=6.3)
    assert r.text == retry.text and r.attempts == ("plain:early_end", "timestamps", "full:unsure")
    whole = _reading(retry.text, -0.69, "timestamps", read_to_s=6.0)  # read to the end
    d, seen = _scripted(monkeypatch, {"plain": first, "timestamps": whole, "full": full})
    assert d.decode(audio, speech_s=6.3).text == whole.text and seen == ["plain", "timestamps"]
    # a retry carrying a doubled first reading's doubt keeps it: no 30 s reading replaces it
    # (it would drop the doubt that lets the filters drop "La la la" on a game sound)
    la = replace(_reading("La la la", -1.33), no_speech_prob=0.51)
    d, seen = _scripted(monkeypatch, {"plain": la, "full": full,
                                      "timestamps": _reading("La", -0.92, "timestamps", 0.3)})
    r = d.decode(np.zeros(3 * 16000, np.float32), speech_s=2.0)
    assert seen == ["plain", "timestamps"] and r.text == "La"
    assert (r.avg_logprob, r.no_speech_prob) == (-1.33, 0.51)


def test_a_longer_30s_reading_whisper_would_keep_replaces_a_surer_short_one(monkeypatch):
    audio = np.zeros(5 * 16000, np.float32)
    longer = _reading("Unless to be rather cold-heartedly rather selfless to be held exposed",
                      -0.80, "full")
    d, seen = _scripted(monkeypatch, {"plain": _reading("Unless to be rather cold", -0.64,
                                                        read_to_s=1.6), "full": longer})
    assert d.decode(audio, speech_s=4.2).text == longer.text and seen == ["plain", "full"]
    # below Whisper's -1.0 and less sure than the short reading: the short one stays
    for whisper_log_prob, lp in ((-1.0, -1.05), (None, -0.80)):
        d, _ = _scripted(monkeypatch, {"plain": _reading("Unless to be rather cold", -0.64,
                                                         read_to_s=1.6),
                                       "full": _reading(longer.text, lp, "full")})
        d.options = replace(d.options, whisper_log_prob=whisper_log_prob)
        assert d.decode(audio, speech_s=4.2).text == "Unless to be rather cold"


def test_a_sure_reading_that_stops_short_is_read_again_too(monkeypatch):
    """levels_fan20, base: a quiet sentence under a fan read "Mr. John Dashwood had then
    leisure to consider how much" at avg_logprob -0.54, 3 s of it unread; the 30 s context
    reads it to its end. By default any clean reading is tested for what it leaves unread
    (``short_read_log_prob`` 0.0); a bar below it still spares the readings surer than it."""
    audio = np.zeros(7 * 16000, np.float32)
    short = _reading("Mr. John Dashwood had then leisure to consider how much", -0.54,
                     read_to_s=3.6)
    whole = _reading(short.text + " there might be prudently in his power to do for them",
                     -0.52, "full", read_to_s=6.5)
    d, seen = _scripted(monkeypatch, {"plain": short, "full": whole})
    r = d.decode(audio, speech_s=6.1)
    assert seen == ["plain", "full"] and r.text == whole.text
    assert r.attempts == ("plain:short", "full")
    d, seen = _scripted(monkeypatch, {"plain": short, "full": whole})
    d.options = replace(d.options, short_read_log_prob=-0.6)
    assert d.decode(audio, speech_s=6.1).text == short.text and seen == ["plain"]


def test_a_brief_or_whole_reading_is_not_read_again(monkeypatch):
    audio = np.zeros(3 * 16000, np.float32)
    for text, lp, speech_s, read_to_s in (
            ("Press 3", -0.3, 2.4, 2.0),  # sure, read to its end: 1.0 s unread
            ("Sixth", -0.9, 0.7, 0.5),  # under 1 s of speech
            ("LINE!", -1.28, 1.3, 2.5)):  # a drawn-out word read to its end: 0.5 s unread
        d, seen = _scripted(monkeypatch, {"plain": _reading(text, lp, read_to_s=read_to_s)})
        assert d.decode(audio, speech_s=speech_s).text == text and seen == ["plain"]
    # interim snapshots, decodes through a forced prefix and an unchecked decoder: never
    d, seen = _scripted(monkeypatch, {"plain": _reading("Press 3 4", -0.97, read_to_s=1.2)})
    d.decode(audio, speech_s=2.4, interim=True)
    d.decode(audio, speech_s=2.4, prefix="Press")
    d.options = DecodingOptions(language="en", short_read_log_prob=None)
    d.decode(audio, speech_s=2.4)
    d.options = DecodingOptions(language="en", encoder_context_s=None)  # already 30 s
    d.decode(audio, speech_s=2.4)
    assert seen == ["plain"] * 4
    # nothing aligned (no words to time): no test of what is left unread
    d, seen = _scripted(monkeypatch, {"plain": replace(_reading("Press 3 4", -0.97), words=())})
    d.decode(audio, speech_s=2.4)
    assert seen == ["plain"]


def test_a_final_read_with_a_word_said_twice_at_its_end_is_read_again(monkeypatch):
    """base read telephone prompts alone as "6 6", "June June", "Delta Delta Delta", the copy
    given audio of its own by the alignment; the 30 s context reads the word once. A final
    ending in a word or a phrase of up to 4 words said again is read again like a loop; a word
    every mode reads twice ("No, no.") stays, and is no unrepaired decode; an interim decode
    is not read again (docs/benchmarks.md, "Each clip alone")."""
    from streamer.decoding import checks

    audio = np.zeros(2 * 16000, np.float32)
    d, seen = _scripted(monkeypatch, {"plain": _reading("6 6", -0.67),
                                      "timestamps": _reading("6 6", -0.7, "timestamps"),
                                      "full": _reading("6.", -0.2, "full")})
    r = d.decode(audio, speech_s=0.6)
    assert r.text == "6." and seen == ["plain", "timestamps", "full"]
    assert r.attempts == ("plain:doubled", "timestamps:doubled", "full")
    d, seen = _scripted(monkeypatch, {"plain": _reading("Delta Delta Delta", -0.86),
                                      "timestamps": _reading("Delta.", -0.3, "timestamps")})
    assert d.decode(audio, speech_s=0.8).text == "Delta." and seen == ["plain", "timestamps"]
    no = _reading("No, no.", -0.3)
    d, seen = _scripted(monkeypatch, {"plain": no, "timestamps": replace(no, attempts=(
        "timestamps",)), "full": replace(no, attempts=("full",))})
    r = d.decode(audio, speech_s=0.8)
    assert r.text == "No, no." and not r.unrepaired and len(seen) == 3
    d, seen = _scripted(monkeypatch, {"plain": _reading("6 6", -0.67)})
    assert d.decode(audio, speech_s=0.6, interim=True).text == "6 6" and seen == ["plain"]
    o = DecodingOptions()
    assert checks.problem("So I said no.", 1.0, o, final=True) == ""
    assert checks.problem("June June", 1.0, o) == ""  # not a final: judged as before


def test_a_word_read_twice_and_read_again_keeps_the_first_readings_doubt(monkeypatch):
    """base on a game sound under a fan (`--set rooms`) read "La la la" (avg_logprob -1.33,
    no_speech_prob 0.51: the no_speech filter drops it) and, read again for the word said
    twice, "La" (-0.92), which passed every filter. The retry mends the text; the kept decode
    carries the first reading's avg_logprob when lower and its no_speech_prob when higher, and
    the filters drop it as they dropped the first. A retry that reads other words is judged on
    its own figures (`levels_fan20`: "Special, special" read with the 30 s context as
    "especially as regards the lower case numbers.", -0.50)."""
    from streamer.decoding.chain import FilterChain
    from streamer.decoding.filter_options import FilterOptions
    from streamer.segmentation.window import SpeechWindow

    audio = np.zeros(2 * 16000, np.float32)
    la3 = replace(_reading("La la la", -1.333), no_speech_prob=0.506)
    d, seen = _scripted(monkeypatch, {"plain": la3, "timestamps": replace(
        _reading("La", -0.919, "timestamps"), no_speech_prob=0.506)})
    r = d.decode(audio, speech_s=1.2)
    assert (r.text, r.avg_logprob, r.no_speech_prob) == ("La", -1.333, 0.506)
    assert seen == ["plain", "timestamps"]
    w = SpeechWindow(0, np.zeros(26400, np.int16), 0.81, 2.46, 1.2, 0.0, "end",
                     confirmed_s=1.14, peak_speech_prob=0.77)
    assert FilterChain(FilterOptions()).check(r, w).filter == "no_speech"
    # a sure first reading stays sure: a telephone prompt's "Delta Delta Delta" (-0.86)
    d, _ = _scripted(monkeypatch, {"plain": _reading("Delta Delta Delta", -0.86),
                                   "timestamps": _reading("Delta.", -0.3, "timestamps")})
    r = d.decode(audio, speech_s=0.8)
    assert (r.text, r.avg_logprob) == ("Delta.", -0.86) and FilterChain(FilterOptions()).check(
        r, replace(w, confirmed_s=0.8, peak_speech_prob=0.95)).keep
    sure = _reading("especially as regards the lower case numbers.", -0.50, "full")
    d, _ = _scripted(monkeypatch, {"plain": replace(_reading("Special, special", -1.6),
                                                    no_speech_prob=0.5),
                                   "timestamps": _reading("Special special", -1.5, "timestamps"),
                                   "full": sure})
    r = d.decode(audio, speech_s=2.5)
    assert (r.text, r.avg_logprob, r.no_speech_prob) == (sure.text, -0.50, 0.05)


def test_when_every_mode_fails_a_loop_is_kept_only_when_every_mode_looped(monkeypatch):
    """base on a tracker tune 20 dB down (`--set arcade`): "you you" (-2.36, no_speech_prob
    0.76), then a 7-word phrase six times in timestamp mode (-0.45), then "you", an early end:
    the loop's first copy was a caption. A reading that did not loop comes first (faster-whisper
    picks among decodes under the compression-ratio threshold), and the filters drop it as
    silence; when every mode loops, the longest trimmed reading is kept (of as many, the
    surest). An empty reading is no reading that did not loop."""
    from streamer.decoding.chain import FilterChain
    from streamer.decoding.filter_options import FilterOptions
    from streamer.segmentation.window import SpeechWindow

    audio = np.zeros(5 * 16000, np.float32)
    loop = _reading(" ".join(["I don't know what you're talking about,"] * 6), -0.45,
                    "timestamps")
    d, seen = _scripted(monkeypatch, {
        "plain": replace(_reading("you you", -2.36), no_speech_prob=0.76),
        "timestamps": replace(loop, no_speech_prob=0.76),
        "full": replace(_reading("you", -1.29, "full"), no_speech_prob=0.78)})
    r = d.decode(audio, speech_s=4.0)
    assert r.attempts == ("plain:doubled", "timestamps:loop", "full:early_end")
    assert (r.text, r.avg_logprob) == ("you you", -2.36) and seen == ["plain", "timestamps", "full"]
    w = SpeechWindow(0, np.zeros(5 * 16000, np.int16), 0.0, 5.0, 4.0, 0.0, "end",
                     confirmed_s=4.0, peak_speech_prob=0.93)
    assert FilterChain(FilterOptions()).check(r, w).filter == "no_speech"
    # every mode looped: the reading with the most words once its loop is cut
    uh = "Montreal. " + ", ".join(["Uh"] * 30)
    d, _ = _scripted(monkeypatch, {"plain": _reading(uh, -0.15),
                                   "timestamps": _reading("Montreal. Uh, uh, uh, uh, uh", -0.1),
                                   "full": _reading(uh, -0.2, "full")})
    r = d.decode(audio, speech_s=4.0)
    assert r.attempts == ("plain:loop", "timestamps:loop", "full:loop") and r.unrepaired
    assert (r.text, r.avg_logprob) == ("Montreal. Uh,", -0.1)
    # the 30 s context reads nothing (an early end): the loop's words are kept
    d, _ = _scripted(monkeypatch, {"plain": _reading(uh, -0.15),
                                   "timestamps": _reading(uh, -0.1, "timestamps"),
                                   "full": replace(_reading("", -0.5, "full"), words=())})
    r = d.decode(audio, speech_s=4.0)
    assert r.attempts[-1] == "full:early_end" and r.text == "Montreal. Uh,"


def test_a_retry_whisper_would_try_again_goes_on_to_the_30s_context(monkeypatch):
    """A loop read again cleanly but below avg_logprob -1.0 (Whisper's bar to try again) goes
    on to the 30 s context; when nothing clean is sure, the surest clean reading is kept.
    (The benchmark's retry read "Special Special Special", which now also goes on as a word
    said twice; a retry without one stands in for it.)"""
    audio = np.zeros(3 * 16000, np.float32)
    loop = _reading("Special, special, special, special, special, special", -1.7)
    sure = _reading("Especially as regards the lower case numbers.", -0.50, "full")
    d, seen = _scripted(monkeypatch, {"plain": loop,
                                      "timestamps": _reading("Special as regards lower case", -1.43),
                                      "full": sure})
    r = d.decode(audio, speech_s=2.5)
    assert r.text == sure.text and seen == ["plain", "timestamps", "full"]
    assert r.attempts == ("plain:loop", "timestamps:low_logprob", "full")
    for full_lp, kept in ((-1.6, "Special as regards lower case"), (-1.2, "Especially as regards.")):
        d, _ = _scripted(monkeypatch, {"plain": loop,
                                       "timestamps": _reading("Special as regards lower case", -1.43),
                                       "full": _reading("Especially as regards.", full_lp)})
        assert d.decode(audio, speech_s=2.5).text == kept
    # the 30 s context loops too: the unsure clean retry is kept, and it is no unrepaired loop
    d, _ = _scripted(monkeypatch, {"plain": loop,
                                   "timestamps": _reading("Special as regards lower case", -1.43),
                                   "full": replace(loop, attempts=("full",))})
    r = d.decode(audio, speech_s=2.5)
    assert r.text == "Special as regards lower case" and not r.unrepaired
    assert r.attempts == ("plain:loop", "timestamps:low_logprob", "full:loop")
    # at the bar (-1.0) the retry is kept; above no_speech_prob 0.6 (silence to Whisper), an
    # interim snapshot's decode, or retry_log_prob None: the first clean retry, as before
    for reading, interim, bar in ((_reading("Special as regards lower case", -1.0), False, -1.0),
                                  (replace(_reading("Special as regards lower case", -1.43),
                                           no_speech_prob=0.61), False, -1.0),
                                  (_reading("Special as regards lower case", -1.43), True, -1.0)):
        d, seen = _scripted(monkeypatch, {"plain": loop, "timestamps": reading, "full": sure})
        d.options = replace(d.options, retry_log_prob=bar)
        assert d.decode(audio, speech_s=2.5, interim=interim).text == "Special as regards lower case"
        assert seen == ["plain", "timestamps"]
    d, seen = _scripted(monkeypatch, {"plain": loop,
                                      "timestamps": _reading("Special as regards lower case", -1.43),
                                      "full": sure})
    d.options = replace(d.options, retry_log_prob=None)
    assert d.decode(audio, speech_s=2.5).text == "Special as regards lower case"
    assert seen == ["plain", "timestamps"]

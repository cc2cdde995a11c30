"""WindowDecoder on real speech: short encoder context, language voting, bad options."""

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
        DecodingOptions(encoder_context_s=45)


@pytest.mark.model
def test_a_looping_decode_is_decoded_again_with_the_full_context(tiny_model, jfk_first_5s):
    """A loop check that every text fails (loop compression ratio 0.1) forces the whole fallback
    chain: plain, then the 30 s context, then timestamps; the kept text is still the speech."""
    d = WindowDecoder(tiny_model, options=DecodingOptions(loop_compression_ratio=0.1))
    r = d.decode(jfk_first_5s)
    assert r.attempts == ("plain:loop", "full:loop", "timestamps:loop")
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

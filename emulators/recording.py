"""Emulated call recordings: deterministic WAV audio following a script, and the way back to text.

A recording is a RIFF/WAVE file, PCM 16-bit mono at 16 kHz, laid out as ``fmt `` + ``hfsc`` (the script, JSON)
+ ``data``. Its audio is never stored: every byte is a pure function of the script, so any byte range of a
recording of hundreds of MB is generated on demand, block by block (:func:`iter_wav_range`).

Two voices: speech synthesised by espeak-ng (deterministic for one espeak-ng version; each turn's length and
the version are kept in the script) or, where espeak-ng is missing, a tone burst per word (pitch from the
word, band from the speaker). Every 16th 64-sample block carries, in the least significant bit of its
samples, its own block number and a check value keyed by the recording. That watermark is inaudible and lets
:func:`transcribe_wav` find where a *part* of a recording starts (a splitter may cut anywhere at a frame
boundary, keeping the extra RIFF chunks), after which the part's audio is compared with the regenerated
audio, so a part is only transcribed when its samples really are the recording's.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import struct
import subprocess
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

SAMPLE_RATE = 16_000
BLOCK_SAMPLES = 64
"""Samples per block; every duration in the script is a whole number of blocks."""
WATERMARK_EVERY = 16
"""Every 16th block (64 ms) carries the watermark: enough to locate any part, rare enough to be cheap."""
SCRIPT_CHUNK_ID = b"hfsc"
VOICE_TONES = "tones"
VOICE_SPEECH = "espeak-ng"
"""Voices: tone bursts per word (pure Python, identical everywhere) or speech synthesised by espeak-ng."""
SCRIPT_VERSION = 1

_BLOCK_BYTES = BLOCK_SAMPLES * 2
_WORD_BLOCKS = 60  # 0.24 s of tone per word
_WORD_GAP_BLOCKS = 15  # 0.06 s between words
_TURN_GAP_BLOCKS = 150  # 0.6 s between turns
_LEAD_IN_BLOCKS = 125  # 0.5 s of silence before the first turn
_AMPLITUDE = 6000
_PERIODS = {
    # Tone periods in samples (16 kHz / period = pitch): a lower band for the interviewer, higher for the
    # candidate.
    "interviewer": (100, 96, 92, 88, 84, 80, 76, 72),
    "candidate": (64, 60, 56, 53, 50, 47, 44, 42),
}
_DEFAULT_PERIODS = (70, 66, 62, 58)


@dataclass(frozen=True)
class ScriptSegment:
    """One stretch of speech: who spoke, what they said, and when (seconds from the start of the audio)."""

    start_s: float
    end_s: float
    speaker: str
    text: str


@dataclass(frozen=True)
class Turn:
    """One line of the script before it is timed: a speaker and their words."""

    speaker: str
    text: str


class UndecodableAudio(ValueError):  # noqa: N818 - name fixed by the emulators contract
    """The audio is not a PCM WAV this emulator wrote (or a part of one), so it cannot be transcribed."""


@dataclass(frozen=True)
class _WordSpan:
    start_block: int
    end_block: int  # exclusive; the tone part, the gap after it is silence
    period: int
    segment_index: int
    word: str


@dataclass(frozen=True)
class RecordingAudio:
    """The complete, deterministic description of one recording's audio."""

    recording_id: str
    turns: tuple[Turn, ...]
    voice: str = VOICE_TONES
    turn_blocks: tuple[int, ...] = ()
    """For speech, each turn's length in blocks, so timing is known even where espeak-ng is not installed."""
    engine: str = ""
    """For speech, the synthesiser's version: only the same version regenerates identical audio."""

    @classmethod
    def create(cls, recording_id: str, turns: Sequence[Turn], voice: str = VOICE_TONES) -> RecordingAudio:
        """Describe a recording of ``turns``; the speech voice synthesises (and caches) each turn."""
        if voice == VOICE_TONES:
            return cls(recording_id, tuple(turns))
        if voice != VOICE_SPEECH:
            raise ValueError(f"unknown voice {voice!r}")
        executable = espeak_executable()
        if executable is None:
            raise RuntimeError("the speech voice needs espeak-ng on PATH")
        blocks = tuple(len(_speech_pcm(executable, t.speaker, t.text)) // _BLOCK_BYTES for t in turns)
        return cls(recording_id, tuple(turns), VOICE_SPEECH, blocks, _espeak_version(executable))

    @property
    def key(self) -> int:
        """The watermark key, derived from the recording id."""
        return _watermark_key(self.recording_id)

    def script_json(self) -> bytes:
        """Build the ``hfsc`` chunk payload: everything needed to regenerate and transcribe the audio."""
        payload = {
            "version": SCRIPT_VERSION,
            "recordingId": self.recording_id,
            "sampleRate": SAMPLE_RATE,
            "turns": [{"speaker": t.speaker, "text": t.text} for t in self.turns],
        }
        if self.voice != VOICE_TONES:
            payload |= {"voice": self.voice, "turnBlocks": list(self.turn_blocks), "engine": self.engine}
        return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_script_json(cls, raw: bytes) -> RecordingAudio:
        """Rebuild the description from an ``hfsc`` chunk; raise UndecodableAudio if it is not one."""
        try:
            payload = json.loads(raw)
            if payload["version"] != SCRIPT_VERSION or payload["sampleRate"] != SAMPLE_RATE:
                raise UndecodableAudio("unsupported recording script version or sample rate")
            turns = tuple(Turn(speaker=str(t["speaker"]), text=str(t["text"])) for t in payload["turns"])
            voice = str(payload.get("voice", VOICE_TONES))
            blocks = tuple(int(b) for b in payload.get("turnBlocks", []))
            if voice not in (VOICE_TONES, VOICE_SPEECH) or (
                voice == VOICE_SPEECH and len(blocks) != len(turns)
            ):
                raise UndecodableAudio(f"the recording script names an unknown voice {voice!r} or bad timing")
            return cls(str(payload["recordingId"]), turns, voice, blocks, str(payload.get("engine", "")))
        except (ValueError, KeyError, TypeError) as error:
            if isinstance(error, UndecodableAudio):
                raise
            raise UndecodableAudio(f"the recording script chunk is malformed: {error}") from error

    @property
    def total_samples(self) -> int:
        """Number of samples in the data chunk."""
        return _timeline(self).total_blocks * BLOCK_SAMPLES

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds."""
        return self.total_samples / SAMPLE_RATE

    def header(self) -> bytes:
        """RIFF header, ``fmt `` chunk, script chunk and the ``data`` chunk header."""
        script = self.script_json()
        if len(script) % 2:
            script += b" "  # RIFF chunks are word-aligned; JSON tolerates trailing whitespace
        data_bytes = self.total_samples * 2
        fmt = struct.pack("<HHIIHH", 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
        body = (
            b"WAVE"
            + b"fmt "
            + struct.pack("<I", len(fmt))
            + fmt
            + SCRIPT_CHUNK_ID
            + struct.pack("<I", len(script))
            + script
            + b"data"
            + struct.pack("<I", data_bytes)
        )
        return b"RIFF" + struct.pack("<I", len(body) + data_bytes) + body

    @property
    def size(self) -> int:
        """Total size of the WAV file in bytes."""
        return len(self.header()) + self.total_samples * 2

    def segments(self) -> list[ScriptSegment]:
        """Return the whole script with its timing."""
        return _segments_between(self, 0, self.total_samples)


@dataclass(frozen=True)
class _Sound:
    start_block: int
    end_block: int  # exclusive
    period: int  # tone period in samples; 0 for synthesised speech
    turn_index: int


@dataclass(frozen=True)
class _Timeline:
    words: tuple[_WordSpan, ...]
    sounds: tuple[_Sound, ...]
    sound_starts: tuple[int, ...]
    total_blocks: int


@lru_cache(maxsize=32)
def _timeline(audio: RecordingAudio) -> _Timeline:
    words: list[_WordSpan] = []
    sounds: list[_Sound] = []
    block = _LEAD_IN_BLOCKS
    for index, turn in enumerate(audio.turns):
        if audio.voice == VOICE_SPEECH:
            length = audio.turn_blocks[index]
            sounds.append(_Sound(block, block + length, 0, index))
            # Word times inside synthesised speech are estimated from character positions.
            total_chars = max(1, len(turn.text))
            for match in re.finditer(r"\S+", turn.text):
                first = block + length * match.start() // total_chars
                last = block + -(-length * match.end() // total_chars)
                words.append(_WordSpan(first, max(last, first + 1), 0, index, match.group()))
            block += length
        else:
            periods = _PERIODS.get(turn.speaker, _DEFAULT_PERIODS)
            for word in turn.text.split():
                digest = hashlib.blake2b(word.lower().encode(), digest_size=2).digest()
                period = periods[digest[0] % len(periods)]
                words.append(_WordSpan(block, block + _WORD_BLOCKS, period, index, word))
                sounds.append(_Sound(block, block + _WORD_BLOCKS, period, index))
                block += _WORD_BLOCKS + _WORD_GAP_BLOCKS
        block += _TURN_GAP_BLOCKS
    return _Timeline(tuple(words), tuple(sounds), tuple(s.start_block for s in sounds), block)


def can_regenerate(audio: RecordingAudio) -> bool:
    """Whether this machine can regenerate the recording's audio byte for byte."""
    if audio.voice == VOICE_TONES:
        return True
    executable = espeak_executable()
    return executable is not None and _espeak_version(executable) == audio.engine


def espeak_executable() -> str | None:
    """Path of espeak-ng if installed (looked up on every call, so PATH changes are seen)."""
    return shutil.which("espeak-ng")


def default_voice() -> str:
    """Speech when espeak-ng is installed, tones otherwise."""
    return VOICE_SPEECH if espeak_executable() else VOICE_TONES


@lru_cache(maxsize=8)
def _espeak_version(executable: str) -> str:
    result = subprocess.run([executable, "--version"], capture_output=True, check=True, timeout=30)
    return result.stdout.decode(errors="replace").split("Data at")[0].strip()


_SPEAKER_VOICES = {"interviewer": ("en-us", "40"), "candidate": ("en-gb", "60")}


@lru_cache(maxsize=32)
def _speech_pcm(executable: str, speaker: str, text: str) -> bytes:
    """Synthesise one turn: 16 kHz PCM with even samples (room for the watermark), padded to whole blocks."""
    if not text.strip():
        return b""
    voice, pitch = _SPEAKER_VOICES.get(speaker, ("en", "50"))
    result = subprocess.run(
        [executable, "-v", voice, "-p", pitch, "-s", "165", "-b", "1", "--stdout"],
        input=text.encode(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    wav = result.stdout
    data_at = data_chunk_offset(wav)
    (rate,) = struct.unpack_from("<I", wav, 24)
    source = array("h")
    source.frombytes(wav[data_at + 8 : data_at + 8 + (len(wav) - data_at - 8) // 2 * 2])
    # espeak-ng speaks at 22050 Hz; linear interpolation down to 16 kHz is plenty for a test recording.
    count = max(0, (len(source) - 1) * SAMPLE_RATE // rate)
    out = array("h", bytes(2 * count))
    step = rate / SAMPLE_RATE
    for i in range(count):
        position = i * step
        j = int(position)
        fraction = position - j
        out[i] = int(source[j] + (source[j + 1] - source[j]) * fraction) & ~1
    pcm = out.tobytes()
    return pcm + bytes(-len(pcm) % _BLOCK_BYTES)


@lru_cache(maxsize=32)
def _watermark_key(recording_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(recording_id.encode(), digest_size=8).digest(), "little")


def _check_value(key: int, block: int) -> int:
    # A cheap keyed mix (splitmix64 finaliser): good enough to make a false match on random audio negligible.
    z = (key + block * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0xFFFFFFFF


def _bit_masks() -> tuple[int, ...]:
    # For each byte value, an integer whose little-endian 16-bit samples hold that byte's bits as their LSBs.
    masks = []
    for value in range(256):
        mask = 0
        for bit in range(8):
            if value >> bit & 1:
                mask |= 1 << (16 * bit)
        masks.append(mask)
    return tuple(masks)


_MASKS = _bit_masks()
# Pre-shifted per byte position, because this runs once per block of every byte served.
_SHIFTED_MASKS = tuple(tuple(mask << (128 * position) for mask in _MASKS) for position in range(8))


def _watermark(key: int, block: int) -> int:
    code = (block & 0xFFFFFFFF) | (_check_value(key, block) << 32)
    mask = 0
    for position, table in enumerate(_SHIFTED_MASKS):
        mask |= table[(code >> (8 * position)) & 0xFF]
    return mask


@lru_cache(maxsize=4096)
def _tone_block(period: int, phase: int) -> bytes:
    # Samples are even so the watermark can be OR-ed into their LSB without carries.
    out = bytearray()
    for i in range(BLOCK_SAMPLES):
        value = int(_AMPLITUDE * math.sin(2 * math.pi * ((phase + i) % period) / period)) & ~1
        out += struct.pack("<h", value)
    return bytes(out)


_SILENT_BLOCK = bytes(_BLOCK_BYTES)


def _render_block(
    audio: RecordingAudio, audio_key: int, timeline: _Timeline, block: int, speech: str
) -> bytes:
    base = _SILENT_BLOCK
    position = bisect_right(timeline.sound_starts, block) - 1
    if position >= 0:
        sound = timeline.sounds[position]
        if block < sound.end_block:
            if sound.period:
                base = _tone_block(sound.period, block * BLOCK_SAMPLES % sound.period)
            else:
                turn = audio.turns[sound.turn_index]
                offset = (block - sound.start_block) * _BLOCK_BYTES
                base = _speech_pcm(speech, turn.speaker, turn.text)[offset : offset + _BLOCK_BYTES]
    if block % WATERMARK_EVERY:
        return base
    marked = int.from_bytes(base, "little") | _watermark(audio_key, block)
    return marked.to_bytes(_BLOCK_BYTES, "little")


def _render_blocks(
    audio: RecordingAudio, audio_key: int, timeline: _Timeline, first: int, stop: int, speech: str
) -> Iterator[bytes]:
    """Blocks ``[first, stop)``; unmarked runs inside one speech turn or silence come out as one slice."""
    block = first
    while block < stop:
        if block % WATERMARK_EVERY == 0:
            yield _render_block(audio, audio_key, timeline, block, speech)
            block += 1
            continue
        run_end = min(stop, block - block % WATERMARK_EVERY + WATERMARK_EVERY)
        position = bisect_right(timeline.sound_starts, block) - 1
        sound = timeline.sounds[position] if position >= 0 else None
        if sound is not None and block < sound.end_block:
            if sound.period:  # tones: one cached block each
                run_end = min(run_end, sound.end_block)
                yield from (
                    _render_block(audio, audio_key, timeline, b, speech) for b in range(block, run_end)
                )
            else:
                run_end = min(run_end, sound.end_block)
                turn = audio.turns[sound.turn_index]
                offset = (block - sound.start_block) * _BLOCK_BYTES
                yield _speech_pcm(speech, turn.speaker, turn.text)[
                    offset : offset + (run_end - block) * _BLOCK_BYTES
                ]
        else:
            next_start = (
                timeline.sound_starts[position + 1] if position + 1 < len(timeline.sounds) else run_end
            )
            run_end = min(run_end, max(next_start, block + 1))
            yield bytes((run_end - block) * _BLOCK_BYTES)
        block = run_end


def iter_data_range(
    audio: RecordingAudio, start: int, end: int, chunk_bytes: int = 256 * 1024
) -> Iterator[bytes]:
    """Yield bytes ``[start, end)`` of the data chunk in pieces of about ``chunk_bytes``."""
    timeline = _timeline(audio)
    key = audio.key
    speech = ""
    if audio.voice == VOICE_SPEECH:
        if not can_regenerate(audio):
            raise RuntimeError("this recording's speech needs the same espeak-ng version to be regenerated")
        speech = espeak_executable() or ""
    end = min(end, timeline.total_blocks * _BLOCK_BYTES)
    position = start
    while position < end:
        stop = min(end, position + chunk_bytes)
        first_block, last_block = position // _BLOCK_BYTES, (stop - 1) // _BLOCK_BYTES
        piece = b"".join(_render_blocks(audio, key, timeline, first_block, last_block + 1, speech))
        skip = position - first_block * _BLOCK_BYTES
        yield piece[skip : skip + (stop - position)]
        position = stop


def iter_wav_range(
    audio: RecordingAudio, start: int = 0, end: int | None = None, chunk_bytes: int = 256 * 1024
) -> Iterator[bytes]:
    """Yield bytes ``[start, end)`` of the WAV file (header included), generated chunk by chunk."""
    header = audio.header()
    total = len(header) + audio.total_samples * 2
    end = total if end is None else min(end, total)
    if start < len(header):
        yield header[start : min(end, len(header))]
        start = len(header)
    if start < end:
        yield from iter_data_range(audio, start - len(header), end - len(header), chunk_bytes)


def wav_bytes(audio: RecordingAudio) -> bytes:
    """Return the whole WAV in memory: only for small recordings (tests, short calls)."""
    return b"".join(iter_wav_range(audio))


def _segments_between(audio: RecordingAudio, first_sample: int, end_sample: int) -> list[ScriptSegment]:
    """Segments heard in samples ``[first_sample, end_sample)``, timed relative to ``first_sample``."""
    timeline = _timeline(audio)
    offset_s = first_sample / SAMPLE_RATE
    length_s = (end_sample - first_sample) / SAMPLE_RATE
    grouped: dict[int, list[_WordSpan]] = {}
    for word in timeline.words:
        middle = (word.start_block + word.end_block) * BLOCK_SAMPLES / 2
        if first_sample <= middle < end_sample:
            grouped.setdefault(word.segment_index, []).append(word)
    segments = []
    for index, words in sorted(grouped.items()):
        start = words[0].start_block * BLOCK_SAMPLES / SAMPLE_RATE - offset_s
        end = words[-1].end_block * BLOCK_SAMPLES / SAMPLE_RATE - offset_s
        segments.append(
            ScriptSegment(
                start_s=round(max(start, 0.0), 3),
                end_s=round(min(end, length_s), 3),
                speaker=audio.turns[index].speaker,
                text=" ".join(w.word for w in words),
            )
        )
    return segments


@dataclass(frozen=True)
class _ParsedWav:
    script: bytes | None
    data: memoryview


def _parse_wav(raw: bytes) -> _ParsedWav:
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise UndecodableAudio("not a RIFF/WAVE file")
    view = memoryview(raw)
    position = 12
    fmt_ok = False
    script: bytes | None = None
    while position + 8 <= len(raw):
        chunk_id = bytes(view[position : position + 4])
        (size,) = struct.unpack_from("<I", raw, position + 4)
        body_start = position + 8
        if chunk_id == b"data":
            if not fmt_ok:
                raise UndecodableAudio("WAV data chunk before a PCM fmt chunk")
            # Streamed WAVs may carry a placeholder size: trust the bytes actually present.
            body_end = min(body_start + size, len(raw))
            usable = (body_end - body_start) // 2 * 2
            return _ParsedWav(script, view[body_start : body_start + usable])
        body = bytes(view[body_start : body_start + size])
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise UndecodableAudio("WAV fmt chunk is truncated")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
            if tag == 0xFFFE and len(body) >= 26:
                # WAVE_FORMAT_EXTENSIBLE (some writers emit it): the sub-format GUID starts with the real tag.
                (tag,) = struct.unpack_from("<H", body, 24)
            if tag != 1 or channels != 1 or bits != 16:
                raise UndecodableAudio(
                    f"only PCM 16-bit mono WAV is supported (format {tag}, {channels} channels, {bits} bits)"
                )
            if rate != SAMPLE_RATE:
                raise UndecodableAudio(f"unsupported sample rate {rate} Hz")
            fmt_ok = True
        elif chunk_id == SCRIPT_CHUNK_ID:
            script = body
        position = body_start + size + (size & 1)
    raise UndecodableAudio("WAV file has no data chunk")


def _watermark_offsets(audio: RecordingAudio, data: memoryview) -> Iterator[int]:
    """Yield candidate sample offsets of ``data`` inside the recording, read from the block watermark."""
    span = (WATERMARK_EVERY + 1) * BLOCK_SAMPLES
    raw = bytes(data[: 2 * span])
    low_bits = [raw[2 * i] & 1 for i in range(len(raw) // 2)]
    key = audio.key
    total_blocks = audio.total_samples // BLOCK_SAMPLES
    for shift in range(len(low_bits) - BLOCK_SAMPLES + 1):
        code = 0
        for i, bit in enumerate(low_bits[shift : shift + BLOCK_SAMPLES]):
            code |= bit << i
        block, check = code & 0xFFFFFFFF, code >> 32
        if block < total_blocks and block % WATERMARK_EVERY == 0 and check == _check_value(key, block):
            offset = block * BLOCK_SAMPLES - shift
            if offset >= 0:
                yield offset
                return


def locate_part(audio: RecordingAudio, data: bytes | memoryview) -> int:
    """Return the sample offset of PCM ``data`` within ``audio``; raise UndecodableAudio if it is not there.

    The offset comes from the watermark; a part too short to hold one (only the last part of a split can be)
    is tried as the recording's head and tail. Either way, up to one second of the part is compared byte for
    byte with the regenerated audio before it is accepted.
    """
    view = memoryview(data)
    samples = len(view) // 2
    if samples == 0:
        raise UndecodableAudio("the WAV data chunk is empty")
    total = audio.total_samples
    located = list(_watermark_offsets(audio, view))
    if not can_regenerate(audio):
        # Speech from an espeak-ng this machine lacks: the keyed watermark is the only evidence left.
        if located and located[0] + samples <= total:
            return located[0]
        raise UndecodableAudio("cannot locate this part without the espeak-ng version that spoke it")
    candidates = [*located, 0, total - samples]
    compare = min(samples, SAMPLE_RATE) * 2
    for offset in dict.fromkeys(candidates):
        if offset < 0 or offset + samples > total:
            continue
        expected = b"".join(iter_data_range(audio, offset * 2, offset * 2 + compare))
        if expected == bytes(view[:compare]):
            return offset
    raise UndecodableAudio("the audio does not match the recording named in its script chunk")


def transcribe_wav(audio: bytes) -> list[ScriptSegment]:
    """Return the segments heard in ``audio`` (a recording or a part of one), timed from its start.

    Raises UndecodableAudio for anything that is not a PCM 16-bit mono 16 kHz RIFF/WAVE file carrying the
    emulator's script chunk, or whose samples are not that recording's.
    """
    parsed = _parse_wav(audio)
    if parsed.script is None:
        raise UndecodableAudio(
            "WAV file carries no recording script chunk (not recorded by the ACS emulator)"
        )
    recording = RecordingAudio.from_script_json(parsed.script)
    offset = locate_part(recording, parsed.data)
    return _segments_between(recording, offset, offset + len(parsed.data) // 2)


def data_chunk_offset(wav: bytes) -> int:
    """Return the offset of the ``data`` chunk header in a RIFF/WAVE file, walking the chunks.

    Searching for the bytes ``data`` is not enough: they may occur inside an earlier chunk (the script).
    """
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise UndecodableAudio("not a RIFF/WAVE file")
    position = 12
    while wav[position : position + 4] != b"data":
        if position + 8 > len(wav):
            raise UndecodableAudio("WAV file has no data chunk")
        (size,) = struct.unpack_from("<I", wav, position + 4)
        position += 8 + size + (size & 1)
    return position


def split_wav(audio: bytes, max_part_bytes: int) -> list[bytes]:
    """Split a WAV at frame boundaries into parts of at most ``max_part_bytes``, keeping extra RIFF chunks.

    A reference splitter (the pipeline has its own); used by tests to prove :func:`transcribe_wav` on parts.
    """
    position = data_chunk_offset(audio)
    header_end = position + 8
    prefix = audio[12:position]  # every chunk between "WAVE" and the data chunk header
    data = audio[header_end:]
    per_part = max(2, (max_part_bytes - header_end) // 2 * 2)
    parts = []
    for start in range(0, len(data), per_part):
        piece = data[start : start + per_part]
        body = b"WAVE" + prefix + b"data" + struct.pack("<I", len(piece)) + piece
        parts.append(b"RIFF" + struct.pack("<I", len(body)) + body)
    return parts


def build_turns(questions: Sequence[str], answers: Sequence[str]) -> tuple[Turn, ...]:
    """Interleave interviewer questions and candidate answers (missing answers are left out)."""
    turns: list[Turn] = []
    for index, question in enumerate(questions):
        turns.append(Turn("interviewer", question))
        if index < len(answers) and answers[index].strip():
            turns.append(Turn("candidate", answers[index]))
    return tuple(turns)


def recording_metadata(
    audio: RecordingAudio,
    *,
    call_id: str,
    document_id: str,
    start_time: str,
    participants: Sequence[str],
    chunk_index: int = 0,
) -> dict[str, object]:
    """Build recording metadata JSON shaped like ACS's (one chunk, mixed audio, WAV)."""
    return {
        "resourceId": "emulated-acs-resource",
        "callId": call_id,
        "chunkDocumentId": document_id,
        "chunkIndex": chunk_index,
        "chunkStartTime": start_time,
        "chunkDuration": round(audio.duration_s * 1000),
        "pauseResumeIntervals": [],
        "recordingInfo": {
            "contentType": "audio",
            "channelType": "mixed",
            "format": "wav",
            "audioConfiguration": {
                "sampleRate": SAMPLE_RATE,
                "bitRate": SAMPLE_RATE * 16,
                "channels": 1,
            },
        },
        "participants": [{"participantId": p} for p in participants],
    }

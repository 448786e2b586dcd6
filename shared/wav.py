"""RIFF/WAVE layout: find the ``fmt`` and ``data`` chunks by ranged reads, and build valid parts.

Recordings can be far larger than memory should hold, so the header is parsed through a ``read(offset,
length)`` callable (a Blob range read, or a slice of a small recording already downloaded whole) and parts
are assembled from ranges of the ``data`` chunk.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["InvalidWavError", "WavLayout", "build_wav_part", "read_wav_layout"]

_MAX_HEADER_BYTES = 16 * 1024 * 1024


class InvalidWavError(ValueError):
    """The bytes are not a RIFF/WAVE file with ``fmt`` and ``data`` chunks."""


@dataclass(frozen=True)
class WavLayout:
    """Where the audio lives and the chunks every part must repeat."""

    fmt_chunk: bytes
    extra_chunks: tuple[bytes, ...]
    block_align: int
    byte_rate: int
    data_offset: int
    data_size: int

    @property
    def part_header_bytes(self) -> int:
        """Size of the header :func:`build_wav_part` writes before the audio of each part."""
        return 12 + len(self.fmt_chunk) + sum(len(chunk) for chunk in self.extra_chunks) + 8

    def seconds_at(self, data_position: int) -> float:
        """Play time of a byte position inside the ``data`` chunk."""
        return data_position / self.byte_rate if self.byte_rate else 0.0


def read_wav_layout(read: Callable[[int, int], bytes], total_size: int) -> WavLayout:
    """Walk the RIFF chunks up to ``data``, keeping ``fmt`` and every other chunk (RIFF pads odd sizes)."""
    head = read(0, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise InvalidWavError("not a RIFF/WAVE file")
    offset = 12
    fmt_chunk: bytes | None = None
    extras: list[bytes] = []
    while offset + 8 <= total_size:
        header = read(offset, 8)
        if len(header) < 8:
            break
        chunk_id = header[:4]
        (size,) = struct.unpack("<I", header[4:8])
        if chunk_id == b"data":
            if fmt_chunk is None:
                raise InvalidWavError("data chunk before fmt chunk")
            block_align, byte_rate = _format_fields(fmt_chunk)
            data_offset = offset + 8
            # Streamed recordings may carry a placeholder size; the file length is the truth.
            data_size = min(size, total_size - data_offset)
            return WavLayout(fmt_chunk, tuple(extras), block_align, byte_rate, data_offset, data_size)
        padded = size + (size & 1)
        if padded > _MAX_HEADER_BYTES:
            raise InvalidWavError(f"chunk {chunk_id!r} is implausibly large for a header chunk")
        whole = header + read(offset + 8, padded)
        if chunk_id == b"fmt ":
            fmt_chunk = whole
        else:
            extras.append(whole)
        offset += 8 + padded
    raise InvalidWavError("no data chunk")


def _format_fields(fmt_chunk: bytes) -> tuple[int, int]:
    if len(fmt_chunk) < 8 + 16:
        raise InvalidWavError("fmt chunk too short")
    _, channels, _, byte_rate, block_align, _ = struct.unpack("<HHIIHH", fmt_chunk[8:24])
    if block_align <= 0 or channels <= 0:
        raise InvalidWavError("fmt chunk has no frame size")
    return block_align, byte_rate


def build_wav_part(layout: WavLayout, audio: bytes) -> bytes:
    """Build a complete WAV file: the original ``fmt`` and extra chunks, then ``audio`` as ``data``."""
    body = (
        b"WAVE" + layout.fmt_chunk + b"".join(layout.extra_chunks) + b"data" + struct.pack("<I", len(audio))
    )
    pad = b"\x00" if len(audio) & 1 else b""
    return b"RIFF" + struct.pack("<I", len(body) + len(audio) + len(pad)) + body + audio + pad

"""Structure-aware chunking and the sentence table, with offsets into the cleaned text.

The text is cut into segments (sentences, list items, headings) that never cross a
line; segments that belong together are glued into groups (a heading and what
follows it, a lead-in sentence and its bullet list); groups are packed greedily into
chunks of at most ``max_tokens`` model tokens, preferring paragraph ends once a chunk
is reasonably full, and each chunk repeats the last sentences of the previous one
(``overlap_tokens``) so an answer spanning a boundary is still found whole.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from ingest.clean import word_set
from ingest.lang import detect_lang
from ingest.types import Chunk, Document, Lang, Sentence

logger = logging.getLogger(__name__)

__all__ = [
    "Segment",
    "chunk_document",
    "segment_text",
    "sentence_windows",
    "split_sentences",
]


SegmentKind = Literal["sentence", "bullet", "heading"]
TokenCounter = Callable[[str], int]


@dataclass(frozen=True, slots=True)
class Segment:
    """A sentence, list item (or one sentence of it) or heading: ``text[start:end]``."""

    start: int
    end: int
    kind: SegmentKind
    para: int  # paragraph number (paragraphs are separated by blank lines)


# Abbreviations after which a period does not end a sentence (compared in lower case).
_ABBREVIATIONS = word_set(
    "pr dr m mm mme mmes mlle mlles st ste prof mr mrs ms jr sr etc cf vol p pp n° no nos"
    " fig env av apr art éd ed inc ltd co corp vs dept réf ref tél tel ex approx chap al"
    " op cit resp hab"
)
# Terminal punctuation, possibly closed by quotes or brackets ("fin. »", "fin.)").
_TERMINATOR = re.compile(r"[.!?…]+(?:[ \u00a0\u202f]?[»”\"’)\]])*(?=\s)")
_SENTENCE_START = re.compile(r"\s+([A-ZÀ-ÝŒ0-9«“\"(\[])")
_WORD_BEFORE = re.compile(r"([\w°'’.\-]+)$")
_BULLET = re.compile(r"(?:[-–—•·▪◦●*+]|\d{1,2}[.)]|[a-z][)])\s")
_HEADING_END = re.compile(r"[.;,…]$")
_MAX_HEADING = 150
_LINE = re.compile(r"[^\n]+")
_WORD = re.compile(r"\S+")
# Once a chunk holds this share of max_tokens, a paragraph end is a good place to stop.
_SOFT_FILL = 0.6


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans in ``text[start:end]`` (one line of text), trimmed of whitespace.

    A period after an abbreviation (Pr, Dr, M., Mme, St, etc.) or an initial does not
    end a sentence, and neither does one inside a number ("3,5", "1.2", "14 000")."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for m in _TERMINATOR.finditer(text, start, end):
        nxt = _SENTENCE_START.match(text, m.end(), end)
        if nxt is None:
            continue
        if m.group() == ".":
            word = _WORD_BEFORE.search(text, cursor, m.start())
            if word is not None and _is_abbreviation(word.group(1)):
                continue
        spans.append((cursor, m.end()))
        cursor = nxt.start(1)
    spans.append((cursor, end))
    return [s for s in (_trim(text, a, b) for a, b in spans) if s[0] < s[1]]


def _is_abbreviation(word: str) -> bool:
    word = word.lstrip("'’-")
    if len(word) == 1 and word.isupper():
        return True  # an initial: "J. Dupont"
    if "." in word:
        return True  # "e.g", "U.S", "J.-C"
    return word.lower() in _ABBREVIATIONS


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def segment_text(text: str) -> list[Segment]:
    """Cut ``text`` into sentences, list items and headings, in order, never across lines."""
    segments: list[Segment] = []
    para = 0
    prev_end = 0
    for line in _LINE.finditer(text):
        if text.count("\n", prev_end, line.start()) > 1:
            para += 1
        prev_end = line.end()
        start, end = _trim(text, line.start(), line.end())
        if start == end:
            continue
        body = text[start:end]
        if _BULLET.match(body):
            segments.extend(
                Segment(a, b, "bullet", para) for a, b in split_sentences(text, start, end)
            )
            continue
        spans = split_sentences(text, start, end)
        if len(spans) == 1 and len(body) <= _MAX_HEADING and not _HEADING_END.search(body):
            segments.append(Segment(start, end, "heading", para))
            continue
        segments.extend(Segment(a, b, "sentence", para) for a, b in spans)
    return segments


def _glued(text: str, left: Segment, right: Segment) -> bool:
    """Whether ``left`` and ``right`` must share a chunk: a heading and what follows it,
    a lead-in ("... suivantes :") and its list, consecutive items of one list."""
    return (
        left.kind == "heading"
        or text[left.start : left.end].endswith(":")
        or right.kind == "bullet"
    )


def _groups(text: str, segments: list[Segment]) -> list[list[Segment]]:
    groups: list[list[Segment]] = []
    for i, seg in enumerate(segments):
        if i and _glued(text, segments[i - 1], seg):
            groups[-1].append(seg)
        else:
            groups.append([seg])
    return groups


def _split_long(text: str, seg: Segment, count: TokenCounter, max_tokens: int) -> Iterator[Segment]:
    """Cut a segment longer than ``max_tokens`` at word boundaries (inside a word only if
    one word alone is too long), each piece within the limit."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, seg.start, seg.end)]
    i = 0
    while i < len(words):
        lo, hi, best = i, len(words) - 1, -1
        while lo <= hi:  # the token count grows with the span: binary search the last word
            mid = (lo + hi) // 2
            if count(text[words[i][0] : words[mid][1]]) <= max_tokens:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        if best >= 0:
            yield Segment(words[i][0], words[best][1], seg.kind, seg.para)
            i = best + 1
            continue
        start, stop = words[i]
        while start < stop:  # one enormous "word" (a URL, a base64 blob): cut by characters
            lo, hi, cut = start + 1, stop, start + 1
            while lo <= hi:
                mid = (lo + hi) // 2
                if count(text[start:mid]) <= max_tokens:
                    cut, lo = mid, mid + 1
                else:
                    hi = mid - 1
            yield Segment(start, cut, seg.kind, seg.para)
            start = cut
        i += 1


def _pack(
    text: str,
    groups: list[list[Segment]],
    *,
    count: TokenCounter,
    max_tokens: int,
    overlap_tokens: int,
) -> list[tuple[int, int]]:
    """Greedy packing of groups into chunk spans (start, end), overlapping by whole segments."""
    overhead = count("")
    spans: list[tuple[int, int]] = []
    queue: deque[list[Segment]] = deque(groups)
    cur: list[Segment] = []
    n_overlap = 0  # leading segments of ``cur`` repeated from the previous chunk
    cur_tokens = 0

    def emit(*, overlap: bool) -> None:
        nonlocal cur, n_overlap, cur_tokens
        spans.append((cur[0].start, cur[-1].end))
        tail: list[Segment] = []
        for seg in reversed(cur[1:] if overlap else ()):
            if count(text[seg.start : cur[-1].end]) - overhead > overlap_tokens:
                break
            tail.insert(0, seg)
        cur, n_overlap = tail, len(tail)
        cur_tokens = count(text[cur[0].start : cur[-1].end]) if cur else 0

    while queue:
        group = queue.popleft()
        has_new = len(cur) > n_overlap
        new_para = bool(cur) and group[0].para != cur[-1].para
        # A new section (it opens with a heading) starts clean, without repeated text.
        new_section = group[0].kind == "heading"
        if has_new and new_para and cur_tokens >= _SOFT_FILL * max_tokens:
            emit(overlap=not new_section)
        start = cur[0].start if cur else group[0].start
        tokens = count(text[start : group[-1].end])
        if tokens <= max_tokens:
            cur.extend(group)
            cur_tokens = tokens
            continue
        queue.appendleft(group)
        if len(cur) > n_overlap:
            emit(overlap=not new_section)
        elif cur:  # only repeated text in front and the group still does not fit: shed it
            cur.pop(0)
            n_overlap -= 1
            cur_tokens = count(text[cur[0].start : cur[-1].end]) if cur else 0
        elif len(group) > 1:
            queue.popleft()
            queue.extendleft([seg] for seg in reversed(group))
        else:  # pragma: no cover - segments were pre-split to fit
            raise AssertionError("a single segment exceeds max_tokens after splitting")
    if len(cur) > n_overlap:
        spans.append((cur[0].start, cur[-1].end))
    return spans


#: A window never grows past this many model tokens (e5-small reads 512).
WINDOW_MAX_TOKENS = 480


def sentence_windows(
    text: str,
    segments: list[Segment],
    *,
    size: int,
    stride: int,
    count_tokens: TokenCounter,
    max_tokens: int = WINDOW_MAX_TOKENS,
) -> list[tuple[int, int]]:
    """Spans of ``size`` consecutive segments, one starting every ``stride`` segments, the
    last one ending on the last segment. A window that would pass ``max_tokens`` stops at
    the segment before (it always holds one), and the next one starts within it, so every
    segment is in some window. Spans are exact: first segment's start to last one's end."""
    if size < 1 or not 1 <= stride <= size:
        raise ValueError(f"window size must be >= 1 and 1 <= stride <= size, got {size}/{stride}")
    n = len(segments)
    spans: list[tuple[int, int]] = []
    first = 0
    while n:
        last = min(first + size, n) - 1
        while last > first and count_tokens(text[segments[first].start : segments[last].end]) > (
            max_tokens
        ):
            last -= 1
        spans.append((segments[first].start, segments[last].end))
        if last == n - 1:
            break
        step = first + min(stride, last - first + 1)
        # The last window ends on the last segment and is full-size when it can be.
        first = step if step + size <= n else max(first + 1, min(step, n - size))
    return spans


def chunk_document(
    document: Document,
    *,
    count_tokens: TokenCounter,
    max_tokens: int = 200,
    overlap_tokens: int = 30,
    windows: tuple[int, int] | None = None,
) -> tuple[tuple[Chunk, ...], tuple[Sentence, ...]]:
    """Chunks (each at most ``max_tokens`` as counted by ``count_tokens``) and sentences of
    ``document``; every one is an exact span of ``document.text``. With ``windows`` =
    (size, stride) the passages are sliding windows of ``size`` sentences instead
    (:func:`sentence_windows`).

    Raises ValueError when ``max_tokens`` leaves no room for text or the overlap is not
    smaller than half of it."""
    text = document.text
    overhead = count_tokens("")
    if max_tokens <= overhead + 8:
        raise ValueError(
            f"max_tokens={max_tokens} leaves no room for text (the model adds {overhead} "
            "tokens to every passage); use a value of at least 64"
        )
    if not 0 <= overlap_tokens < max_tokens // 2:
        raise ValueError(
            f"overlap_tokens={overlap_tokens} must be >= 0 and < max_tokens/2 ({max_tokens // 2})"
        )
    segments: list[Segment] = []
    for seg in segment_text(text):
        if count_tokens(text[seg.start : seg.end]) > max_tokens:
            segments.extend(_split_long(text, seg, count_tokens, max_tokens))
        else:
            segments.append(seg)
    if windows is not None:
        size, stride = windows
        spans = sentence_windows(
            text, segments, size=size, stride=stride, count_tokens=count_tokens
        )
    else:
        spans = _pack(
            text,
            _groups(text, segments),
            count=count_tokens,
            max_tokens=max_tokens,
            overlap_tokens=overlap_tokens,
        )

    def page_of(offset: int) -> int | None:
        if not document.page_starts:
            return None
        return max(1, bisect.bisect_right(document.page_starts, offset))

    chunks = tuple(
        Chunk(
            doc_id=document.doc_id,
            ordinal=i,
            text=text[start:end],
            start=start,
            end=end,
            lang=detect_lang(text[start:end], default=document.lang),
            page=page_of(start),
        )
        for i, (start, end) in enumerate(spans)
    )
    chunk_starts = [c.start for c in chunks]

    def chunk_lang(offset: int) -> Lang:
        i = bisect.bisect_right(chunk_starts, offset) - 1
        return chunks[i].lang if i >= 0 else document.lang

    sentences = tuple(
        Sentence(
            doc_id=document.doc_id,
            ordinal=i,
            text=text[seg.start : seg.end],
            start=seg.start,
            end=seg.end,
            lang=detect_lang(text[seg.start : seg.end], default=chunk_lang(seg.start), quick=True),
            page=page_of(seg.start),
        )
        for i, seg in enumerate(segments)
    )
    return chunks, sentences

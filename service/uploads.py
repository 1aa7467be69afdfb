"""The file name a multipart part really carries (before python-multipart trims it)."""

from __future__ import annotations

import re

from fastapi import UploadFile

__all__ = ["sent_filename"]

# filename="..." (quoted, with \\ and \" escapes) or filename=token, in a part's header.
_FILENAME_PARAM = re.compile(r'(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))', re.I)


def sent_filename(upload: UploadFile) -> str | None:
    """The file name exactly as the client sent it. python-multipart turns
    ``C:\\Windows\\x.txt`` into ``x.txt`` (an old IE workaround); the name rule must see
    the original to refuse it."""
    disposition = upload.headers.get("content-disposition", "")
    match = _FILENAME_PARAM.search(disposition)
    if match is None:
        return upload.filename
    if match.group(1) is not None:
        # The two escapes python-multipart undoes; any other backslash is the name's own.
        return match.group(1).replace("\\\\", "\\").replace('\\"', '"')
    return match.group(2).strip()

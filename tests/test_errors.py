"""The error family: a class names its HTTP status and code in its header."""

from __future__ import annotations

from ingest.errors import FileLimitError, IngestError, PartnerSearchError


def test_a_subclass_names_its_answer_in_its_header_or_inherits_its_parents():
    class Named(IngestError, status=409, code="named"):
        pass

    class Plain(Named):
        pass

    assert (PartnerSearchError.status, PartnerSearchError.code) == (400, "bad_request")
    assert (IngestError.status, IngestError.code) == (422, "unreadable_file")
    assert (FileLimitError.status, FileLimitError.code) == (413, "file_over_limits")
    assert (Named.status, Named.code) == (409, "named")
    assert (Plain.status, Plain.code) == (409, "named")
    # Naming a subclass's answer leaves its parent's as it was.
    assert (IngestError.status, IngestError.code) == (422, "unreadable_file")
    assert isinstance(Plain("x"), PartnerSearchError)

"""`partnersearch search/ask/similar` on a temp index, HashEmbedder standing in for the model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from service_testdata import BOILERPLATE_FR, DOCS, index_in
from typer.testing import CliRunner

from ingest.embed import HashEmbedder
from service.cli import app


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return index_in(tmp_path_factory.mktemp("cli"))


@pytest.fixture()
def run(data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARTNERSEARCH_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PARTNERSEARCH_ANSWER_THRESHOLD", "0")
    runner = CliRunner()

    def invoke(*args: str):
        # The CLI's seam: an embedders factory in the context object (no monkeypatching).
        return runner.invoke(app, list(args), obj={"embedders": lambda s: (HashEmbedder(), None)})

    return invoke


def test_search_prints_ranked_passages_with_citations(run):
    result = run("search", "unités mixtes plateau de Saclay", "--k", "2")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.match(r"^1\. .+  \[saclay_convention, \S+, chars \d+–\d+\]$", lines[0])
    assert lines[1].startswith("   ")


def test_search_json_is_the_api_shape(run):
    result = run("search", "Inserm", "--json", "--lang", "en", "--mode", "lexical")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body) == {"results", "took_ms"}
    assert {r["doc_id"] for r in body["results"]} == {"northwest_interview"}


def test_ask_prints_the_answer_sentence_and_its_citation(run):
    result = run("ask", "Quand le protocole de coopération a-t-il été signé au CHU ?")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("answer (confidence ")
    assert lines[1].strip().startswith("Le protocole de coopération a été signé le 8 juillet 2024")
    assert re.search(r"\[lille_protocol, \S+, chars \d+–\d+\]$", lines[2])
    start = DOCS["lille_protocol.txt"].index(
        "8 juillet 2024", 30
    )  # the sentence's, not the dateline's
    assert lines[3] == f"  date: 8 juillet 2024  [chars {start}–{start + 14}]"
    assert "supporting passages:" in lines


def test_ask_with_a_missing_answer_model_fails_in_one_line(run, monkeypatch, tmp_path):
    missing = tmp_path / "answerer.json"
    monkeypatch.setenv("PARTNERSEARCH_ANSWER_MODEL", str(missing))
    result = run("ask", "Qui finance la chaire ?")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: answer model {missing} not found; rebuild it with `partnersearch "
        f"train-answerer --out {missing}` (see README, /ask quality)"
    ]


def test_ask_json_reports_no_answer_above_threshold(run, monkeypatch):
    monkeypatch.setenv("PARTNERSEARCH_ANSWER_THRESHOLD", "1")
    result = run("ask", "Qui finance la chaire ?", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["no_answer"] is True and body["answer"] is None


def test_similar_lists_every_occurrence_of_a_wording(run):
    result = run("similar", BOILERPLATE_FR, "--k", "1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("1. (")
    cited = [line for line in lines[1:] if line.startswith("   ")]
    assert len(cited) == 2
    assert any("[lille_protocol," in c for c in cited)
    assert any("[saclay_convention," in c for c in cited)


@pytest.mark.parametrize(
    "args,message",
    [
        (("search", "   "), "the query is empty"),
        (("search", "Inserm", "--from", "2024-05-01", "--to", "2023-01-01"), "date_from"),
        (("ask", "x" * 2001), "the limit is 2000"),
    ],
)
def test_bad_input_prints_one_error_line_and_exits_1(run, args, message):
    result = run(*args)
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["search", "ask", "similar"])
def test_every_query_command_applies_the_filter_options(run, command):
    """The filter options are declared once (cli_common.query_command) and reach each
    command as one Filters: --doc keeps one document, a blank --partner is refused."""
    result = run(command, BOILERPLATE_FR, "--json", "--doc", "lille_protocol", "--k", "5")
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    if command == "similar":
        cited = {o["doc_id"] for m in body["results"] for o in m["occurrences"]}
    elif command == "ask":
        cited = {p["doc_id"] for p in body["passages"]}
    else:
        cited = {h["doc_id"] for h in body["results"]}
    assert cited == {"lille_protocol"}
    refused = run(command, "Inserm", "--partner", "  ")
    assert refused.exit_code == 1
    assert refused.output.startswith("error: ")
    assert "partner" in refused.output


@pytest.mark.parametrize("command", ["search", "ask"])
def test_query_command_help_lists_the_shared_options_then_the_mode(run, command):
    result = run(command, "--help")
    names = re.findall(r"--(k|lang|type|from|to|partner|doc|json|mode)\b", result.output)
    assert names[names.index("k") :][:9] == [
        "k",
        "lang",
        "type",
        "from",
        "to",
        "partner",
        "doc",
        "json",
        "mode",
    ]


def test_an_empty_query_is_named_before_bad_filters(run):
    result = run("search", "  ", "--from", "2024-05-01", "--to", "2023-01-01")
    assert result.exit_code == 1
    assert result.output.strip() == "error: the query is empty; type a few words"


def test_missing_index_is_one_error_line(run, monkeypatch, tmp_path):
    monkeypatch.setenv("PARTNERSEARCH_DATA_DIR", str(tmp_path / "none"))
    result = run("search", "Inserm")
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert "partnersearch ingest" in result.output


def test_unknown_mode_is_refused_by_the_parser(run):
    result = run("search", "Inserm", "--mode", "semantic")
    assert result.exit_code == 2
    assert "semantic" in result.output


def test_train_commands_find_piaf_beside_the_repository_from_any_folder(tmp_path, monkeypatch):
    from service.cli_common import default_piaf

    repo = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARTNERSEARCH_EVALDATA", raising=False)
    assert default_piaf() == repo.parent / "shared" / "evaldata" / "piaf_v1.1"
    monkeypatch.setenv("PARTNERSEARCH_EVALDATA", str(tmp_path / "suite"))
    assert default_piaf() == tmp_path / "suite" / "piaf_v1.1"


def test_train_reranker_options_reach_its_config_and_the_rest_keep_the_defaults(
    monkeypatch, tmp_path
):
    from eval.errors import EvalDataError
    from eval.reranker import RerankerConfig

    seen = {}

    def fake_train(settings, **kwargs):
        seen.update(kwargs)
        raise EvalDataError("stopped by the test")

    monkeypatch.setattr("eval.reranker.train_reranker", fake_train)
    args = ["train-reranker", "--piaf", str(tmp_path), "--layers", "1", "--lr", "0.0001"]
    result = CliRunner().invoke(app, [*args, "--seed", "3"])
    assert result.exit_code == 1
    assert "stopped by the test" in result.output
    assert seen["config"] == RerankerConfig(layers=1, lr=0.0001, seed=3)
    assert seen["piaf"] == tmp_path


_ASK_FR = "Combien de temps dure la convention avec Paris-Saclay ?"


@pytest.mark.parametrize(
    "command,field,text,setting,value",
    [
        ("ask", "question", _ASK_FR, "answer_threshold", 0.0),
        ("ask", "question", _ASK_FR, "answer_threshold", 1.0),
        ("similar", "text", BOILERPLATE_FR, "similar_dup_overlap", 0.8),
        ("similar", "text", BOILERPLATE_FR, "similar_dup_overlap", 0.5),
    ],
)
def test_cli_and_api_answer_the_same_from_the_same_settings(
    run, data_dir, monkeypatch, command, field, text, setting, value
):
    """Both front ends read the settings through service.queries: under each value of the
    setting, the CLI's JSON is the API's answer (or wordings), field for field."""
    from service_testdata import api_client

    monkeypatch.setenv(f"PARTNERSEARCH_{setting.upper()}", str(value))
    cli = json.loads(run(command, text, "--json", "--k", "3").output)
    with api_client(data_dir, **{setting: value}) as client:
        api = client.post(f"/{command}", json={field: text, "k": 3}).json()
    for body in (cli, api):
        body.pop("took_ms")
    assert cli == api
    assert (cli["results"] if command == "similar" else cli["passages"]) != []
    if setting == "answer_threshold":  # the threshold was read: 1.0 declines, 0 answers
        assert cli["no_answer"] is (value == 1.0)

"""The paper's intermediate tasks: readers on small files written here in each official format
(with the real files' quirks), every new card read through the registry from files placed at the
card's own paths, featurised by its format, and the four English MC cards on the real dev data."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from xstilts.config.features import FeatureSettings
from xstilts.config.formats import get_format
from xstilts.config.registry import TaskRegistry
from xstilts.data.codecs import read
from xstilts.data.codecs.nli_jsonl import read_anli_plus
from xstilts.data.examples import Answer, ClassificationExample, MultipleChoiceExample, TaggingExample
from xstilts.errors import ConfigError, DataFormatError

NLI = ["entailment", "neutral", "contradiction"]
NEW_CARDS = ["anli-plus", "mnli", "qqp", "squad-v1", "squad-v2", "hellaswag", "sst2", "ccg"]
MC_CARDS = ["cosmosqa", "commonsenseqa", "siqa", "copa"]


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8"))
    return path


def assert_error(
    err: pytest.ExceptionInfo[DataFormatError], path: Path, line: int | None, problem: str
) -> None:
    assert err.value.path == str(path)
    assert err.value.line == line
    assert problem in str(err.value)
    if line is not None:
        assert str(err.value).startswith(f"{path}:{line}: ")


def jsonl(records: list[dict[str, object]], end: str = "\n") -> str:
    return "".join(json.dumps(record) + end for record in records)


# ---------------------------------------------------------------- GLUE tsv (MNLI, QQP, SST-2)

MNLI_HEADER = (
    "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
    "sentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label"
)
MNLI_TEST_HEADER = (
    "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
    "sentence1_parse\tsentence2_parse\tsentence1\tsentence2"
)


def mnli_row(index: int, premise: str, hypothesis: str, label: str | None) -> str:
    fields = [str(index), "31193", f"{index}n", "fiction", "( x )", "( y )", "(ROOT x)", "(ROOT y)"]
    fields += [premise, hypothesis]
    fields += [] if label is None else [label, label]
    return "\t".join(fields)


MNLI_OPTIONS = {"label_column": "gold_label", "labels": NLI, "skip_labels": ["-"]}


def test_glue_mnli_columns_by_name_unbalanced_quotes_crlf_and_no_consensus(tmp_path: Path) -> None:
    # Row 2 opens a quote it never closes: a csv reader would swallow the rows after it.
    rows = [
        MNLI_HEADER,
        mnli_row(0, "Conceptually cream skimming has two dimensions.", "Product and geography.", "neutral"),
        mnli_row(1, '"Sure, he said', "He agreed.", "entailment"),
        mnli_row(2, "No consensus here.", "Maybe.", "-"),
        mnli_row(3, "Last one.", 'It ends with a quote"', "contradiction"),
    ]
    path = write(tmp_path / "train.tsv", "\r\n".join(rows) + "\r\n")
    examples = read("glue_tsv", {"path": path}, **MNLI_OPTIONS)
    assert examples == [
        ClassificationExample(
            "train-2", "Conceptually cream skimming has two dimensions.", "Product and geography.", "neutral"
        ),
        ClassificationExample("train-3", '"Sure, he said', "He agreed.", "entailment"),
        ClassificationExample("train-5", "Last one.", 'It ends with a quote"', "contradiction"),
    ]


def test_glue_test_file_without_label_column_is_unlabelled(tmp_path: Path) -> None:
    path = write(
        tmp_path / "test_matched.tsv", MNLI_TEST_HEADER + "\n" + mnli_row(0, "A.", "B.", None) + "\n"
    )
    assert read("glue_tsv", {"path": path}, **MNLI_OPTIONS) == [
        ClassificationExample("test_matched-2", "A.", "B.")
    ]


def test_glue_malformed_rows_are_errors_naming_file_and_line(tmp_path: Path) -> None:
    short = write(tmp_path / "dev_matched.tsv", f"{MNLI_HEADER}\n{mnli_row(0, 'a', 'b', 'neutral')}\nx\ty\n")
    with pytest.raises(DataFormatError) as err:
        read("glue_tsv", {"path": short}, **MNLI_OPTIONS)
    assert_error(err, short, 3, "expected 12 tab-separated fields as in the header, found 2")
    bad_label = write(tmp_path / "b.tsv", f"{MNLI_HEADER}\n{mnli_row(0, 'a', 'b', 'contradictory')}\n")
    with pytest.raises(DataFormatError) as err:
        read("glue_tsv", {"path": bad_label}, **MNLI_OPTIONS)
    assert_error(err, bad_label, 2, "label 'contradictory' is not one of entailment, neutral, contradiction")
    no_column = write(tmp_path / "c.tsv", "premise\thypothesis\tlabel\na\tb\tneutral\n")
    with pytest.raises(DataFormatError) as err:
        read("glue_tsv", {"path": no_column}, **MNLI_OPTIONS)
    assert_error(
        err, no_column, 1, "the header has no column 'sentence1' (it has premise, hypothesis, label)"
    )
    header_only = write(tmp_path / "h.tsv", MNLI_HEADER + "\n")
    with pytest.raises(DataFormatError, match="holds no rows"):
        read("glue_tsv", {"path": header_only}, **MNLI_OPTIONS)
    with pytest.raises(ConfigError, match="malformed_rows"):
        read("glue_tsv", {"path": short}, malformed_rows="ignore")


QQP_HEADER = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate"
QQP_OPTIONS = {
    "text_a_column": "question1",
    "text_b_column": "question2",
    "label_column": "is_duplicate",
    "labels": ["0", "1"],
    "malformed_rows": "skip",
}


def qqp_rows(n: int) -> list[str]:
    return [f"{i}\t{2 * i}\t{2 * i + 1}\tHow do I learn {i}?\tWhat is {i}?\t{i % 2}" for i in range(n)]


def test_glue_qqp_skips_a_few_broken_rows_with_a_count(tmp_path: Path, caplog) -> None:
    # As in the real train.tsv: a newline inside question1 splits one row into two broken lines.
    rows = qqp_rows(250)
    rows[40:41] = ["40\t80\t81\tHow do I", "learn 40?\tWhat is 40?\t0"]
    path = write(tmp_path / "train.tsv", "\n".join([QQP_HEADER, *rows]) + "\n")
    with caplog.at_level(logging.WARNING):
        examples = read("glue_tsv", {"path": path}, **QQP_OPTIONS)
    assert len(examples) == 249
    assert examples[40] == ClassificationExample("train-44", "How do I learn 41?", "What is 41?", "1")
    assert "skipped 2 malformed rows of 251 (first at line 42: expected 6" in caplog.text
    # The same file is an error where malformed rows are not expected.
    with pytest.raises(DataFormatError) as err:
        read("glue_tsv", {"path": path}, **{**QQP_OPTIONS, "malformed_rows": "error"})
    assert_error(err, path, 42, "expected 6 tab-separated fields as in the header, found 4")


def test_glue_skipping_more_than_one_row_in_a_hundred_is_an_error(tmp_path: Path) -> None:
    rows = qqp_rows(98) + ["oops", "1\t2\t3\ta\tb\t7"]  # a short row and a label outside 0/1
    path = write(tmp_path / "dev.tsv", "\n".join([QQP_HEADER, *rows]) + "\n")
    with pytest.raises(DataFormatError) as err:
        read("glue_tsv", {"path": path}, **QQP_OPTIONS)
    assert_error(err, path, 100, "2 of 100 rows are malformed, too many to skip")


def test_glue_sst2_single_sentences(tmp_path: Path) -> None:
    path = write(tmp_path / "dev.tsv", "sentence\tlabel\nit 's a charming journey . \t1\n\"unfunny \t0\n")
    examples = read(
        "glue_tsv", {"path": path}, text_a_column="sentence", text_b_column=None, labels=["0", "1"]
    )
    assert examples == [
        ClassificationExample("dev-2", "it 's a charming journey . ", None, "1"),
        ClassificationExample("dev-3", '"unfunny ', None, "0"),
    ]


# ---------------------------------------------------------------- SNLI / ANLI / ANLI+


def snli_record(premise: str, hypothesis: str, label: str) -> dict[str, object]:
    return {
        "annotator_labels": [label],
        "captionID": "3416050480.jpg#4",
        "gold_label": label,
        "pairID": "3416050480.jpg#4r1n",
        "sentence1": premise,
        "sentence1_binary_parse": "( x )",
        "sentence2": hypothesis,
        "sentence2_binary_parse": "( y )",
    }


def anli_record(uid: str, label: str, premise_key: str = "context") -> dict[str, object]:
    return {
        "uid": uid,
        premise_key: f"Premise {uid}.",
        "hypothesis": f"Hypothesis {uid}.",
        "label": label,
        "reason": "",
        "model_label": "e",
        "emturk": False,
        "genre": "wiki",
        "tag": "train",
    }


def test_snli_leaves_out_no_consensus_pairs(tmp_path: Path) -> None:
    records = [
        snli_record("A man.", "A person.", "entailment"),
        snli_record("A dog.", "A cat?", "-"),
        snli_record("Kids play.", "Kids sleep.", "contradiction"),
    ]
    path = write(tmp_path / "snli_1.0_dev.jsonl", jsonl(records, "\r\n"))
    assert read("snli_jsonl", {"path": path}) == [
        ClassificationExample("snli_1.0_dev-1", "A man.", "A person.", "entailment"),
        ClassificationExample("snli_1.0_dev-3", "Kids play.", "Kids sleep.", "contradiction"),
    ]


def test_snli_errors(tmp_path: Path) -> None:
    bad = write(
        tmp_path / "s.jsonl", jsonl([snli_record("a", "b", "neutral"), snli_record("a", "b", "unknown")])
    )
    with pytest.raises(DataFormatError) as err:
        read("snli_jsonl", {"path": bad})
    assert_error(err, bad, 2, "gold_label 'unknown' is not one of entailment, neutral, contradiction or -")
    broken = write(tmp_path / "t.jsonl", jsonl([snli_record("a", "b", "neutral")]) + '{"sentence1": "a"\n')
    with pytest.raises(DataFormatError) as err:
        read("snli_jsonl", {"path": broken})
    assert_error(err, broken, 2, "invalid JSON")
    only_dashes = write(tmp_path / "u.jsonl", jsonl([snli_record("a", "b", "-")]))
    with pytest.raises(DataFormatError, match="holds no labelled pairs"):
        read("snli_jsonl", {"path": only_dashes})


def test_anli_letters_become_words_and_both_premise_keys_read(tmp_path: Path) -> None:
    path = write(tmp_path / "train.jsonl", jsonl([anli_record("a1", "e"), anli_record("a2", "c", "premise")]))
    assert read("anli_jsonl", {"path": path}) == [
        ClassificationExample("a1", "Premise a1.", "Hypothesis a1.", "entailment"),
        ClassificationExample("a2", "Premise a2.", "Hypothesis a2.", "contradiction"),
    ]
    bad = write(tmp_path / "dev.jsonl", jsonl([anli_record("b1", "n"), anli_record("b2", "x")]))
    with pytest.raises(DataFormatError) as err:
        read("anli_jsonl", {"path": bad})
    assert_error(err, bad, 2, "label 'x' is not one of e, n, c")
    twice = write(tmp_path / "test.jsonl", jsonl([anli_record("c1", "n"), anli_record("c1", "e")]))
    with pytest.raises(DataFormatError) as err:
        read("anli_jsonl", {"path": twice})
    assert_error(err, twice, 2, "duplicate id 'c1' (first at line 1)")


def test_anli_plus_reads_mnli_as_glue_tsv_or_multinli_jsonl(tmp_path: Path) -> None:
    tsv = write(tmp_path / "train.tsv", f"{MNLI_HEADER}\n{mnli_row(0, 'p', 'h', 'neutral')}\n")
    multinli = write(tmp_path / "multinli_1.0_train.jsonl", jsonl([snli_record("p", "h", "entailment")]))
    assert read_anli_plus(mnli=tsv) == [ClassificationExample("mnli:train-2", "p", "h", "neutral")]
    assert read_anli_plus(mnli=multinli) == [
        ClassificationExample("mnli:multinli_1.0_train-1", "p", "h", "entailment")
    ]
    with pytest.raises(ConfigError, match="needs at least one of the files snli, mnli"):
        read("anli_plus", {})


# ---------------------------------------------------------------- HellaSwag

HELLASWAG_RECORDS = [
    {
        "ind": 4,
        "activity_label": "Removing ice from car",
        "ctx_a": "Then, the man writes over the snow covering the window of a car.",
        "ctx_b": "a woman",
        "ctx": "Then, the man writes over the snow covering the window of a car. a woman",
        "split": "train",
        "split_type": "indomain",
        "label": 3,
        "endings": ["drives.", "stops.", "waves.", "puts on a glove."],
        "source_id": "activitynet~v_-1IBHYS3L-Y",
    },
    {
        "ind": 9,
        "activity_label": "Home and Garden",
        "ctx_a": "How to clean a sink. Wet the sink.",
        "ctx_b": "",
        "ctx": "How to clean a sink. Wet the sink.",
        "split": "train",
        "split_type": "indomain",
        "label": "1",  # the HF export writes labels as strings
        "endings": ["Eat it.", "Scrub it.", "Sell it.", "Paint it."],
        "source_id": "wikihow~1",
    },
]


def test_hellaswag_context_and_choices_as_the_official_baseline_builds_them(tmp_path: Path) -> None:
    unlabelled = {key: value for key, value in HELLASWAG_RECORDS[0].items() if key != "label"} | {"ind": 11}
    path = write(tmp_path / "hellaswag_val.jsonl", jsonl([*HELLASWAG_RECORDS, unlabelled]))
    examples = read("hellaswag_jsonl", {"path": path})
    assert examples[0] == MultipleChoiceExample(
        "4",
        "Then, the man writes over the snow covering the window of a car.",
        "",
        ("a woman drives.", "a woman stops.", "a woman waves.", "a woman puts on a glove."),
        3,
    )
    assert examples[1].choices == ("Eat it.", "Scrub it.", "Sell it.", "Paint it.") and examples[1].label == 1
    assert (examples[2].id, examples[2].label) == ("11", None)


def test_hellaswag_errors(tmp_path: Path) -> None:
    bad_label = write(
        tmp_path / "a.jsonl", jsonl([HELLASWAG_RECORDS[0], {**HELLASWAG_RECORDS[1], "label": 4}])
    )
    with pytest.raises(DataFormatError) as err:
        read("hellaswag_jsonl", {"path": bad_label})
    assert_error(err, bad_label, 2, "label 4 is not one of 0, 1, 2, 3")
    bad_endings = write(tmp_path / "b.jsonl", jsonl([{**HELLASWAG_RECORDS[0], "endings": "drives."}]))
    with pytest.raises(DataFormatError) as err:
        read("hellaswag_jsonl", {"path": bad_endings})
    assert_error(err, bad_endings, 1, "endings must be a list of strings")


# ---------------------------------------------------------------- SQuAD v2.0


def squad(qas: list[dict[str, object]], context: str = "Paris is the capital of France.") -> str:
    return json.dumps(
        {"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": context, "qas": qas}]}]}
    )


def test_squad_v2_option_marks_questions_without_answers_unanswerable(tmp_path: Path) -> None:
    qas = [
        {
            "id": "a",
            "question": "Capital?",
            "answers": [{"text": "Paris", "answer_start": 0}],
            "is_impossible": False,
        },
        {
            "id": "b",
            "question": "Of Spain?",
            "answers": [],
            "is_impossible": True,
            "plausible_answers": [{"text": "France", "answer_start": 24}],
        },
        {"id": "c", "question": "Converted, no key?", "answers": []},
    ]
    path = write(tmp_path / "dev-v2.0.json", squad(qas))
    v2 = read("squad_json", {"path": path}, version_2_with_negative=True)
    assert [(e.id, e.answers, e.is_impossible) for e in v2] == [
        ("a", (Answer("Paris", 0),), False),
        ("b", (), True),
        ("c", (), True),
    ]
    # Without the option (XQuAD, MLQA, TyDiQA) a question without answers stays unlabelled.
    assert [e.is_impossible for e in read("squad_json", {"path": path})] == [False, True, False]
    contradiction = write(
        tmp_path / "x.json", squad([{"id": "d", "question": "?", "answers": [], "is_impossible": False}])
    )
    with pytest.raises(DataFormatError, match="question 'd' .*is_impossible is false but it has no answers"):
        read("squad_json", {"path": contradiction}, version_2_with_negative=True)


# ---------------------------------------------------------------- CCG supertags


def auto_sentence(sentence_id: str, leaves: list[tuple[str, str, str]]) -> str:
    """An AUTO header and a (right-branching) derivation whose leaves are (category, POS, word)."""
    parts = [f"(<L {cat} {pos} {pos} {word} {cat}>)" for cat, pos, word in leaves]
    tree = parts[-1]
    for leaf in reversed(parts[:-1]):
        tree = f"(<T S[dcl] 0 2> {leaf} {tree} )"
    return f"ID={sentence_id} PARSER=GOLD NUMPARSE=1\n{tree}\n"


A = [("N/N", "NNP", "Pierre"), ("N", "NNP", "Vinken"), ("S[dcl]\\NP", "VBZ", "sleeps"), (".", ".", ".")]
B = [
    ("N/N", "JJ", "Old"),
    ("N/N", "NNP", "Mr."),
    ("N", "NNP", "Vinken"),
    ("S[dcl]\\NP", "VBZ", "sleeps"),
    (".", ".", "."),
]
C = [
    ("N", "NNP", "Vinken"),
    ("(S[dcl]\\NP)/NP", "VBZ", "likes"),
    ("LRB", "-LRB-", "-LRB-"),
    ("N", "NNP", "Pierre"),
    ("RRB", "-RRB-", "-RRB-"),
]
# Counts: N/N 20, N 17, S[dcl]\NP 15, "." 15 (tie: "." sorts first), the rest 1 -> "other".
CCG_RANKS = {"N/N": "0", "N": "1", ".": "2", "S[dcl]\\NP": "3"}


def ccg_train_auto() -> str:
    sentences = [auto_sentence(f"wsj_0201.{i}", A) for i in range(1, 11)]
    sentences += [auto_sentence(f"wsj_0202.{i}", B) for i in range(1, 6)]
    return "".join(sentences) + auto_sentence("wsj_0203.1", C)


def ccg_dev_auto() -> str:
    return auto_sentence("wsj_0001.1", A) + auto_sentence(
        "wsj_0001.2", [("NP", "PRP", "He"), ("S[dcl]\\NP", "VBZ", "sleeps"), (".", ".", ".")]
    )


def test_ccg_auto_ranks_frequent_categories_and_unescapes_brackets(tmp_path: Path) -> None:
    train = write(tmp_path / "wsj02-21.auto", ccg_train_auto())
    examples = read("ccg_supertags", {"path": train})
    assert len(examples) == 16
    assert examples[0] == TaggingExample(
        "wsj_0201.1", ("Pierre", "Vinken", "sleeps", "."), ("0", "1", "3", "2")
    )
    assert examples[-1] == TaggingExample(
        "wsj_0203.1", ("Vinken", "likes", "(", "Pierre", ")"), ("1", "other", "other", "1", "other")
    )
    # With a lower threshold the rare categories get ranks of their own (ties sorted by name).
    every = read("ccg_supertags", {"path": train}, min_count=1)
    assert every[-1].tags == ("1", "4", "5", "1", "6")
    assert read("ccg_supertags", {"path": train}, max_categories=2)[0].tags == ("0", "1", "other", "other")


def test_ccg_dev_takes_the_inventory_of_the_train_file(tmp_path: Path) -> None:
    train = write(tmp_path / "wsj02-21.auto", ccg_train_auto())
    dev = write(tmp_path / "wsj00.auto", ccg_dev_auto())
    examples = read("ccg_supertags", {"path": dev, "train": train})
    assert [e.tags for e in examples] == [("0", "1", "3", "2"), ("other", "3", "2")]
    # Read alone, the dev file's own counts (all below 10) would make every tag "other".
    assert {t for e in read("ccg_supertags", {"path": dev}) for t in e.tags} == {"other"}


def test_ccg_stagged_lines_and_comments(tmp_path: Path) -> None:
    content = (
        "# this file was generated by the following command(s):\n#   generate -s ccgbank\n\n"
        "Pierre|NNP|N/N Vinken|NNP|N .|.|.\n#|#|N/N 5|CD|N\r\nA|b|c|DT|NP[nb]/N\n"
    )
    path = write(tmp_path / "wsj00.stagged", content)
    examples = read("ccg_supertags", {"path": path}, min_count=1)
    assert [(e.id, e.tokens) for e in examples] == [
        ("wsj00-4", ("Pierre", "Vinken", ".")),
        ("wsj00-5", ("#", "5")),
        ("wsj00-6", ("A|b|c",)),
    ]
    # N/N and N twice each; "." and NP[nb]/N once: ties sorted by name.
    assert [e.tags for e in examples] == [("1", "0", "2"), ("1", "0"), ("3",)]


def test_ccg_malformed_files(tmp_path: Path) -> None:
    no_header = write(tmp_path / "a.auto", "(<L N NN NN dog N>)\n")
    with pytest.raises(DataFormatError) as err:
        read("ccg_supertags", {"path": no_header})
    assert_error(err, no_header, 1, "expected an `ID=...` header line before a derivation")
    no_tree = write(
        tmp_path / "b.auto", auto_sentence("wsj_0001.1", A) + "ID=wsj_0001.2 PARSER=GOLD NUMPARSE=1\n"
    )
    with pytest.raises(DataFormatError) as err:
        read("ccg_supertags", {"path": no_tree})
    assert_error(err, no_tree, 3, "sentence wsj_0001.2 has no derivation line")
    twice = write(tmp_path / "c.auto", auto_sentence("wsj_0001.1", A) * 2)
    with pytest.raises(DataFormatError) as err:
        read("ccg_supertags", {"path": twice})
    assert_error(err, twice, 3, "duplicate ID wsj_0001.1 (first at line 1)")
    no_leaves = write(tmp_path / "d.auto", "ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1\n(<T S 0 2> )\n")
    with pytest.raises(DataFormatError) as err:
        read("ccg_supertags", {"path": no_leaves})
    assert_error(err, no_leaves, 2, "the derivation has no")
    bad_token = write(tmp_path / "e.stagged", "Pierre|NNP|N/N\nVinken|N\n")
    with pytest.raises(DataFormatError) as err:
        read("ccg_supertags", {"path": bad_token})
    assert_error(err, bad_token, 2, "token 1 'Vinken|N' is not word|POS|supertag")
    with pytest.raises(ConfigError, match="min_count"):
        read("ccg_supertags", {"path": bad_token}, min_count=0)


# ---------------------------------------------------------------- the cards, through the registry


def card_files(root: Path) -> None:
    """Every new card's files, small, in the official formats, at the paths the cards name."""
    base = root / "intermediate"
    mnli_rows = [mnli_row(i, f"Premise {i}.", f"Hypothesis {i}.", NLI[i % 3]) for i in range(3)]
    write(base / "mnli/train.tsv", "\n".join([MNLI_HEADER, *mnli_rows]) + "\n")
    write(base / "mnli/dev_matched.tsv", "\n".join([MNLI_HEADER, mnli_rows[0]]) + "\n")
    write(base / "mnli/dev_mismatched.tsv", "\n".join([MNLI_HEADER, mnli_rows[1]]) + "\n")
    write(base / "qqp/train.tsv", "\n".join([QQP_HEADER, *qqp_rows(4)]) + "\n")
    write(base / "qqp/dev.tsv", "\n".join([QQP_HEADER, *qqp_rows(2)]) + "\n")
    write(base / "sst2/train.tsv", "sentence\tlabel\nhide new secretions \t0\na gem \t1\n")
    write(base / "sst2/dev.tsv", "sentence\tlabel\nit 's charming . \t1\n")
    snli = [snli_record("A man.", "A person.", "entailment"), snli_record("A dog.", "A cat.", "-")]
    for name in ("snli_1.0_train.jsonl", "snli_1.0_dev.jsonl"):
        write(base / "snli" / name, jsonl(snli))
    for round_ in ("R1", "R2", "R3"):
        for split in ("train", "dev"):
            write(base / f"anli/{round_}/{split}.jsonl", jsonl([anli_record(f"{round_}-{split}-1", "n")]))
    answerable = {"id": "q1", "question": "Capital?", "answers": [{"text": "France", "answer_start": 24}]}
    impossible = {
        "id": "q2",
        "question": "Of Spain?",
        "answers": [],
        "is_impossible": True,
        "plausible_answers": [{"text": "Paris", "answer_start": 0}],
    }
    for name in ("train-v1.1.json", "dev-v1.1.json"):
        write(base / "squad" / name, squad([answerable]))
    for name in ("train-v2.0.json", "dev-v2.0.json"):
        write(base / "squad" / name, squad([{**answerable, "is_impossible": False}, impossible]))
    for name in ("hellaswag_train.jsonl", "hellaswag_val.jsonl"):
        write(base / "hellaswag" / name, jsonl(HELLASWAG_RECORDS))
    write(base / "ccg/wsj02-21.auto", ccg_train_auto())
    write(base / "ccg/wsj00.auto", ccg_dev_auto())
    write(base / "ccg/wsj23.auto", auto_sentence("wsj_2300.1", B))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> TaskRegistry:
    root = tmp_path_factory.mktemp("data")
    card_files(root)
    return TaskRegistry(root)


def test_every_new_card_finds_all_its_split_files(registry: TaskRegistry) -> None:
    for name in NEW_CARDS:
        card = registry.card(name)
        assert registry.present(name) == {split: ["en"] for split in card.splits}, name


@pytest.mark.parametrize("name", NEW_CARDS + MC_CARDS)
def test_cards_are_intermediate_tasks_with_their_sources(registry: TaskRegistry, name: str) -> None:
    card = registry.card(name)
    assert card.languages == ["en"] and card.benchmarks == {}
    assert len(card.source) > 80, "say where the data comes from and its licence"
    if name in ("ccg", "anli-plus"):
        # CCGbank is not on the hub; ANLI+ mixes three hub datasets, one more than a split can name.
        assert all(card.splits[split].hub is None for split in card.splits)
    else:
        for split in card.splits:
            dataset, _, hub_split = card.hub_source(split, "en")
            assert "/" in dataset and hub_split


def test_ccg_card_says_how_to_supply_ccgbank(registry: TaskRegistry) -> None:
    card = registry.card("ccg")
    assert "LDC2005T13" in card.obtain
    for split in card.splits:
        for file in card.files(split, "en", Path("/data")).values():
            assert file.name in card.obtain
    # Tags are ranks 0..max_categories-1 plus the other label, exactly the card's labels.
    options = card.reader_options
    assert card.labels == [str(i) for i in range(options["max_categories"])] + [options["other_label"]]


def test_mnli_qqp_sst2_cards_read_glue_files(registry: TaskRegistry) -> None:
    assert registry.load("mnli", "train", "en")[1] == ClassificationExample(
        "train-3", "Premise 1.", "Hypothesis 1.", "neutral"
    )
    assert [e.id for e in registry.load("mnli", "dev_mismatched", "en")] == ["dev_mismatched-2"]
    qqp = registry.load("qqp", "dev", "en")
    assert [(e.text_a, e.text_b, e.label) for e in qqp] == [
        ("How do I learn 0?", "What is 0?", "0"),
        ("How do I learn 1?", "What is 1?", "1"),
    ]
    assert [(e.text_b, e.label) for e in registry.load("sst2", "train", "en")] == [(None, "0"), (None, "1")]


def test_anli_plus_card_combines_five_files_with_unique_ids(registry: TaskRegistry) -> None:
    examples = registry.load("anli-plus", "train", "en")
    assert [e.id for e in examples] == [
        "snli:snli_1.0_train-1",
        "mnli:train-2",
        "mnli:train-3",
        "mnli:train-4",
        "anli_r1:R1-train-1",
        "anli_r2:R2-train-1",
        "anli_r3:R3-train-1",
    ]
    assert {e.label for e in examples} == set(NLI)
    dev = registry.load("anli-plus", "dev", "en")
    assert len({e.id for e in dev}) == len(dev) == 5


def test_squad_cards(registry: TaskRegistry) -> None:
    (v1,) = registry.load("squad-v1", "train", "en")
    assert v1.answers == (Answer("France", 24),) and not v1.is_impossible
    v2 = registry.load("squad-v2", "dev", "en")
    assert [e.is_impossible for e in v2] == [False, True]


def test_hellaswag_and_ccg_cards(registry: TaskRegistry) -> None:
    assert [e.label for e in registry.load("hellaswag", "dev", "en")] == [3, 1]
    # dev and test read their tags against the train file's inventory.
    assert [e.tags for e in registry.load("ccg", "dev", "en")] == [("0", "1", "3", "2"), ("other", "3", "2")]
    assert registry.load("ccg", "test", "en")[0].tags == ("0", "0", "1", "3", "2")


@pytest.mark.parametrize("name", NEW_CARDS)
def test_new_cards_examples_featurise_with_their_format(registry: TaskRegistry, tiny, name: str) -> None:
    card = registry.card(name)
    fmt = get_format(card.format)
    examples = registry.load(name, "train", "en")
    settings = (
        FeatureSettings(max_length=96, doc_stride=16, max_query_length=16)
        if card.format == "span_qa"
        else FeatureSettings(max_length=64)
    )
    features = fmt.featurize(examples, tiny.tokenizer, card, settings)
    assert {f["example_index"] for f in features} == set(range(len(examples)))
    first = next(f for f in features if f["example_index"] == 0)
    if card.format == "classification":
        assert [f["label"] for f in features] == [card.labels.index(e.label) for e in examples]
    elif card.format == "multiple_choice":
        assert len(first["input_ids"]) == 4 and first["label"] == examples[0].label
    elif card.format == "span_qa":
        # The answer "France" is labelled inside the window; an unanswerable question at <s>.
        assert first["start_position"] > 0 and first["end_position"] >= first["start_position"]
        assert all(
            (f["start_position"], f["end_position"]) == (0, 0)
            for f in features
            if examples[f["example_index"]].is_impossible
        )
    else:
        labelled = [i for i in first["label_ids"] if i != -100]
        assert labelled == [card.labels.index(tag) for tag in examples[0].tags]
    batch = fmt.collate(features, tiny.tokenizer.pad_token_id)
    assert batch["input_ids"].shape[0] == len(features) * (4 if card.format == "multiple_choice" else 1)


# ---------------------------------------------------------------- the four MC cards on real data


@pytest.mark.parametrize(
    ("name", "split", "count"),
    [
        ("cosmosqa", "dev", 2985),
        ("commonsenseqa", "dev", 1221),
        ("siqa", "dev", 1954),
        ("copa", "train", 400),
        ("copa", "dev", 100),
        ("copa", "test", 500),
    ],
)
def test_mc_cards_read_the_real_files_at_their_paths(
    shared_data: Path, name: str, split: str, count: int
) -> None:
    # tests/test_readers.py counts these files read by path; this reads them through the cards.
    examples = TaskRegistry(shared_data).load(name, split, "en")
    assert len(examples) == count and len({e.id for e in examples}) == count
    assert all(e.label is None for e in examples) == (split == "test")

"""Readers: inline fixtures for each format's quirks, then every real file against SOURCES.md's counts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from xstilts.data.codecs import CODECS, read
from xstilts.data.examples import Answer, ClassificationExample, MultipleChoiceExample, TaggingExample
from xstilts.errors import ConfigError, DataFormatError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not present")
NLI_LABELS = ["entailment", "neutral", "contradiction"]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def assert_read_fails(
    reader: str, files: dict[str, Path], path: Path, line: int | None, problem: str, **options: Any
) -> DataFormatError:
    """Read, expecting a DataFormatError that names `path`, `line` (when given) and `problem`."""
    with pytest.raises(DataFormatError) as err:
        read(reader, files, **options)
    message = str(err.value)
    assert str(path) in message
    if line is not None:
        assert f"{path}:{line}:" in message
        assert err.value.line == line
    assert problem in message
    return err.value


# ---------------------------------------------------------------- dispatch


def test_every_card_reader_is_registered_and_every_reader_is_used() -> None:
    from xstilts.config.registry import BUILTIN_CARDS, TaskRegistry

    used = {card.reader for card in TaskRegistry(Path("."), [BUILTIN_CARDS]).cards.values()}
    assert used <= set(CODECS)
    # The per-source readers anli_plus builds on; a user card may name them alone.
    assert set(CODECS) - used <= {"anli_jsonl", "snli_jsonl"}


def test_unknown_reader_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown reader.*xtreme_tsv_pairs.*bucc"):
        read("csv_magic", {"path": tmp_path / "x"})


def test_missing_file_is_a_data_format_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.tsv"
    with pytest.raises(DataFormatError) as err:
        read("xtreme_tsv_pairs", {"path": missing})
    assert err.value.path == str(missing) and err.value.line is None
    assert str(err.value) == f"{missing}: file not found"


def test_second_missing_file_fails_before_reading(tmp_path: Path) -> None:
    source = write(tmp_path, "a.deu", "Hallo\n")
    with pytest.raises(DataFormatError, match="b.eng: file not found"):
        read("tatoeba", {"source": source, "target": tmp_path / "b.eng"})


def test_unknown_option_and_file_names_are_config_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "dev-en.tsv", "a\tb\tneutral\n")
    with pytest.raises(ConfigError, match="has no option 'lables'.*labels"):
        read("xtreme_tsv_pairs", {"path": path}, lables=NLI_LABELS)
    with pytest.raises(ConfigError, match="takes no file 'gold'"):
        read("xtreme_tsv_pairs", {"path": path, "gold": path})
    with pytest.raises(ConfigError, match="needs the file.*target"):
        read("tatoeba", {"source": path})
    with pytest.raises(ConfigError, match="columns"):
        read("xtreme_tsv_pairs", {"path": path}, columns=4)


def test_read_passes_options(tmp_path: Path) -> None:
    path = write(tmp_path, "dev-en.tsv", "a\tb\tneutral\n")
    assert read("xtreme_tsv_pairs", {"path": path}, labels=NLI_LABELS) == [
        ClassificationExample("dev-en-1", "a", "b", "neutral")
    ]


# ---------------------------------------------------------------- xtreme_tsv_pairs


def test_pairs_xnli_rows_crlf_and_no_final_newline(tmp_path: Path) -> None:
    path = write(tmp_path, "dev-fr.tsv", "Il pleut.\tIl fait beau.\tcontradiction\r\nA b.\tC d.\tentailment")
    examples = read("xtreme_tsv_pairs", {"path": path}, labels=NLI_LABELS)
    assert examples == [
        ClassificationExample("dev-fr-1", "Il pleut.", "Il fait beau.", "contradiction"),
        ClassificationExample("dev-fr-2", "A b.", "C d.", "entailment"),
    ]


def test_pairs_pawsx_quoted_fields_with_doubled_quotes(tmp_path: Path) -> None:
    content = '"Er sagte ""Hallo"" zu ihr."\tEr sagte Hallo.\t1\nNS\t"Ein ""Zitat"""\t0\n'
    examples = read("xtreme_tsv_pairs", {"path": write(tmp_path, "dev-de.tsv", content)}, labels=["0", "1"])
    assert [(e.text_a, e.text_b, e.label) for e in examples] == [
        ('Er sagte "Hallo" zu ihr.', "Er sagte Hallo.", "1"),
        ("NS", 'Ein "Zitat"', "0"),
    ]


def test_pairs_single_sentence_files(tmp_path: Path) -> None:
    examples = read("xtreme_tsv_pairs", {"path": write(tmp_path, "s.tsv", "good film\tpos\n")}, columns=2)
    assert examples == [ClassificationExample("s-1", "good film", None, "pos")]


def test_pairs_unquoted_mode_keeps_leading_quotes(tmp_path: Path) -> None:
    path = write(tmp_path, "raw.tsv", '"Hi" she said\tno quote\tneutral\n')
    assert_read_fails("xtreme_tsv_pairs", {"path": path}, path, 1, "quoted: false")
    assert read("xtreme_tsv_pairs", {"path": path}, quoted=False)[0].text_a == '"Hi" she said'


def test_pairs_unclosed_quote_names_the_line_it_opens(tmp_path: Path) -> None:
    path = write(tmp_path, "dev-es.tsv", 'a\tb\t1\n"never closed\tb\t1\nc\td\t0\n')
    assert_read_fails("xtreme_tsv_pairs", {"path": path}, path, 2, "bad csv quoting (unexpected end of data)")


def test_pairs_label_outside_the_list(tmp_path: Path) -> None:
    path = write(tmp_path, "dev-en.tsv", "a\tb\tneutral\nc\td\tfoo\n")
    assert_read_fails(
        "xtreme_tsv_pairs",
        {"path": path},
        path,
        2,
        "label 'foo' is not one of entailment, neutral, contradiction",
        labels=NLI_LABELS,
    )


def test_pairs_wrong_column_count(tmp_path: Path) -> None:
    path = write(tmp_path, "dev-en.tsv", "a\tb\tneutral\nonly\tneutral\n")
    assert_read_fails(
        "xtreme_tsv_pairs", {"path": path}, path, 2, "expected 3 tab-separated columns, found 2"
    )


def test_empty_files_are_errors(tmp_path: Path) -> None:
    for reader, name in [("xtreme_tsv_pairs", "e.tsv"), ("conllu", "e.conllu"), ("squad_json", "e.json")]:
        path = write(tmp_path, name, "")
        assert_read_fails(reader, {"path": path}, path, None, "file is empty")
    blank = write(tmp_path, "blank.tsv", "\n\n")
    with pytest.raises(DataFormatError, match="no sentences"):
        read("xtreme_tsv_tagging", {"path": blank})


# ---------------------------------------------------------------- xtreme_tsv_tagging


def test_tagging_quirks(tmp_path: Path) -> None:
    # bare quote tokens, CRLF, several blank lines, a space-only separator, no final blank line,
    # a token with a space, and a token that is only a zero-width space (as in PAN-X zh).
    content = '"\tPUNCT\r\nHi\tINTJ\r\n"\tPUNCT\r\n\r\n\r\n\r\n \nNew York\tPROPN\n\u200b\tX\n'
    examples = read("xtreme_tsv_tagging", {"path": write(tmp_path, "test-en.tsv", content)})
    assert examples == [
        TaggingExample("test-en-1", ('"', "Hi", '"'), ("PUNCT", "INTJ", "PUNCT")),
        TaggingExample("test-en-2", ("New York", "\u200b"), ("PROPN", "X")),
    ]


def test_tagging_malformed_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "dev-en.tsv", "a\tDET\n\nb\tNOUN\textra\n")
    assert_read_fails(
        "xtreme_tsv_tagging",
        {"path": path},
        path,
        3,
        "expected 2 tab-separated columns (token, tag), found 3",
    )
    empty_token = write(tmp_path, "dev-de.tsv", "a\tDET\n\tNOUN\n")
    assert_read_fails("xtreme_tsv_tagging", {"path": empty_token}, empty_token, 2, "empty token")
    assert_read_fails(
        "xtreme_tsv_tagging",
        {"path": write(tmp_path, "p.tsv", "Paris\tB-LOC\nx\tB-MISC\n")},
        tmp_path / "p.tsv",
        1,
        "label 'B-LOC' is not one of O",
        labels=["O"],
    )


def test_tagging_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.tsv", b"a\tO\n\xff\tO\n")
    assert_read_fails("xtreme_tsv_tagging", {"path": path}, path, 2, "not valid UTF-8")


# ---------------------------------------------------------------- conllu

CONLLU = (
    "# newdoc id = d1\n"
    "# sent_id = s1\n"
    "# text = I don't know.\n"
    "1\tI\tI\tPRON\tPRP\t_\t3\tnsubj\t_\t_\n"
    "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_\n"
    "3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_\n"
    "3.1\tknow\tknow\tVERB\tVB\t_\t_\t_\t4:conj\tCopyOf=4\n"
    "4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_\n"
    "5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_\n"
    "\n"
    "1\tHello\thello\tINTJ\tUH\t_\t0\troot\t_\t_"
)


def test_conllu_skips_multiword_tokens_and_empty_nodes(tmp_path: Path) -> None:
    path = write(tmp_path, "en_ewt-ud-dev.conllu", CONLLU)
    assert read("conllu", {"path": path}) == [
        TaggingExample("s1", ("I", "do", "n't", "know", "."), ("PRON", "AUX", "PART", "VERB", "PUNCT")),
        TaggingExample("en_ewt-ud-dev-2", ("Hello",), ("INTJ",)),
    ]
    assert read("conllu", {"path": path}, column="xpos")[0].tags == ("PRP", "VBP", "RB", "VB", ".")


def test_conllu_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.conllu", "# sent_id = a\n1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\n")
    assert_read_fails("conllu", {"path": path}, path, 2, "expected 10 tab-separated columns, found 9")
    bad_id = write(tmp_path, "id.conllu", "x\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n")
    assert_read_fails("conllu", {"path": bad_id}, bad_id, 1, "invalid word ID 'x'")
    word = "1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n"
    duplicate = write(tmp_path, "dup.conllu", f"# sent_id = a\n{word}\n# sent_id = a\n{word}")
    assert_read_fails("conllu", {"path": duplicate}, duplicate, 4, "duplicate sent_id 'a' (first at line 1)")


# ---------------------------------------------------------------- squad_json


def squad(paragraphs: list[dict[str, object]], **top: object) -> str:
    return json.dumps({"data": [{"title": "t", "paragraphs": paragraphs}], **top})


def test_squad_v1_and_v2(tmp_path: Path) -> None:
    paragraphs = [
        {
            "context": "Paris is the capital of France.",
            "qas": [
                {"id": "q1", "question": "Capital?", "answers": [{"text": "Paris", "answer_start": 0}]},
                {
                    "id": "q2",
                    "question": "Capital of Spain?",
                    "is_impossible": True,
                    "answers": [],
                    "plausible_answers": [{"text": "France", "answer_start": 24}],
                },
                {"id": "q3", "question": "Unlabelled?", "answers": []},
            ],
        }
    ]
    examples = read("squad_json", {"path": write(tmp_path, "v2.json", squad(paragraphs, version="v2.0"))})
    assert [(e.id, e.answers, e.is_impossible) for e in examples] == [
        ("q1", (Answer("Paris", 0),), False),
        ("q2", (), True),
        ("q3", (), False),
    ]


def test_squad_moves_off_by_some_offsets_to_the_nearest_occurrence(tmp_path: Path) -> None:
    context = "cat dog cat dog cat"
    qas = [{"id": "q", "question": "?", "answers": [{"text": "cat", "answer_start": 10}]}]
    examples = read(
        "squad_json", {"path": write(tmp_path, "off.json", squad([{"context": context, "qas": qas}]))}
    )
    assert examples[0].answers == (Answer("cat", 8),)


def test_squad_answer_not_in_context(tmp_path: Path) -> None:
    qas = [
        {"id": "good", "question": "?", "answers": [{"text": "a", "answer_start": 0}]},
        {"id": "bad-7", "question": "?", "answers": [{"text": "zebra", "answer_start": 0}]},
    ]
    path = write(tmp_path, "bad.json", squad([{"context": "a b c", "qas": qas}]))
    error = assert_read_fails(
        "squad_json", {"path": path}, path, None, "question 'bad-7' (data[0].paragraphs[0].qas[1].answers[0])"
    )
    assert "'zebra' does not occur in the context" in str(error)
    assert [e.id for e in read("squad_json", {"path": path}, skip_bad_answers=True)] == ["good"]


def test_squad_blanked_answers_are_errors(tmp_path: Path) -> None:
    # XTREME's TyDiQA dev copies blank every answer; reading one must not pass silently.
    qas = [{"id": "x", "question": "?", "answers": [{"text": "", "answer_start": 0}]}]
    path = write(tmp_path, "blank.json", squad([{"context": "abc", "qas": qas}]))
    with pytest.raises(DataFormatError, match="answer text is empty"):
        read("squad_json", {"path": path})


def test_squad_tydiqa_repeated_ids_become_unique(tmp_path: Path) -> None:
    answer = [{"text": "a", "answer_start": 0}]
    paragraphs = [
        {"context": "a", "qas": [{"id": qid, "question": "?", "answers": answer}]} for qid in "55759"
    ]
    paragraphs.append({"context": "a", "qas": [{"id": "5#1", "question": "?", "answers": answer}]})
    examples = read("squad_json", {"path": write(tmp_path, "t.json", squad(paragraphs))})
    assert [e.id for e in examples] == ["5", "5#1", "7", "5#2", "9", "5#1#1"]


def test_squad_structure_and_json_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.json", '{"data": [\n  {"paragraphs": [}\n]}')
    assert_read_fails("squad_json", {"path": path}, path, 2, "invalid JSON")
    missing = write(tmp_path, "m.json", squad([{"context": "c", "qas": [{"id": "q", "answers": []}]}]))
    assert_read_fails(
        "squad_json", {"path": missing}, missing, None, "data[0].paragraphs[0].qas[0]: missing key 'question'"
    )


# ---------------------------------------------------------------- multiple choice


def copa_line(label: int, question: str = "cause", idx: int = 0) -> str:
    record = {
        "premise": "P.",
        "choice1": "A.",
        "choice2": "B.",
        "question": question,
        "label": label,
        "idx": idx,
    }
    return json.dumps(record)


def test_copa_crlf_questions_and_placeholder_labels(tmp_path: Path) -> None:
    path = write(
        tmp_path, "val.et.jsonl", copa_line(1, "cause", 0) + "\r\n" + copa_line(0, "effect", 1) + "\r\n"
    )
    examples = read("copa_jsonl", {"path": path})
    assert examples[0] == MultipleChoiceExample("0", "P.", "What was the cause?", ("A.", "B."), 1)
    assert (examples[1].question, examples[1].label) == ("What happened as a result?", 0)
    assert [e.label for e in read("copa_jsonl", {"path": path}, labels_are_placeholders=True)] == [None, None]


def test_copa_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, "c.jsonl", copa_line(0) + "\n{not json\n")
    assert_read_fails("copa_jsonl", {"path": path}, path, 2, "invalid JSON")
    bad_label = write(tmp_path, "l.jsonl", copa_line(2))
    assert_read_fails("copa_jsonl", {"path": bad_label}, bad_label, 1, "label 2 is not one of 0, 1")
    duplicate = write(tmp_path, "d.jsonl", copa_line(0) + "\n" + copa_line(1) + "\n")
    assert_read_fails("copa_jsonl", {"path": duplicate}, duplicate, 2, "duplicate id '0'")


def siqa_line(correct: str | None = None) -> str:
    record = {"context": "C.", "question": "Q?", "answerA": "a", "answerB": "b", "answerC": "c"}
    return json.dumps(record if correct is None else {**record, "correct": correct})


def test_siqa_letters_and_separate_label_file(tmp_path: Path) -> None:
    path = write(tmp_path, "dev.jsonl", siqa_line("C") + "\n" + siqa_line("A") + "\n")
    examples = read("siqa_jsonl", {"path": path})
    assert examples[0] == MultipleChoiceExample("dev-1", "C.", "Q?", ("a", "b", "c"), 2)
    assert examples[1].label == 0
    original = write(tmp_path, "train.jsonl", siqa_line() + "\n" + siqa_line() + "\n")
    labels = write(tmp_path, "train-labels.lst", "2\n3\n")
    assert [e.label for e in read("siqa_jsonl", {"path": original, "labels": labels})] == [1, 2]
    assert [e.label for e in read("siqa_jsonl", {"path": original})] == [None, None]
    short = write(tmp_path, "short.lst", "1\n")
    assert_read_fails(
        "siqa_jsonl",
        {"path": original, "labels": short},
        short,
        None,
        f"has 1 labels but {original} has 2 records",
    )


def test_siqa_bad_letter(tmp_path: Path) -> None:
    path = write(tmp_path, "dev.jsonl", siqa_line("A") + "\n" + siqa_line("D") + "\n")
    assert_read_fails("siqa_jsonl", {"path": path}, path, 2, "correct 'D' is not one of A, B, C")


def test_commonsenseqa_both_schemas(tmp_path: Path) -> None:
    hf = {"id": "h1", "question": "Where?", "choices": {"label": ["A", "B", "C"], "text": ["x", "y", "z"]}}
    official = {
        "id": "o1",
        "question": {"stem": "Who?", "choices": [{"label": "A", "text": "p"}, {"label": "B", "text": "q"}]},
    }
    path = write(
        tmp_path, "dev.jsonl", "\n".join(json.dumps(r) for r in [{**hf, "answerKey": "C"}, official])
    )
    assert read("commonsenseqa_jsonl", {"path": path}) == [
        MultipleChoiceExample("h1", "", "Where?", ("x", "y", "z"), 2),
        MultipleChoiceExample("o1", "", "Who?", ("p", "q"), None),
    ]
    bad = write(tmp_path, "bad.jsonl", json.dumps({**hf, "answerKey": "E"}))
    assert_read_fails("commonsenseqa_jsonl", {"path": bad}, bad, 1, "answerKey 'E' is not one of A, B, C")


COSMOS_HEADER = "id,context,question,answer0,answer1,answer2,answer3,label\r\n"


def test_cosmosqa_crlf_quotes_and_no_final_newline(tmp_path: Path) -> None:
    rows = 'r1,"She said ""hi"", then left.",Why ?,A,"B, or C",D,None,3\r\nr2,ctx,q,a,b,c,d,0'
    examples = read("cosmosqa_csv", {"path": write(tmp_path, "valid.csv", COSMOS_HEADER + rows)})
    assert examples[0] == MultipleChoiceExample(
        "r1", 'She said "hi", then left.', "Why ?", ("A", "B, or C", "D", "None"), 3
    )
    assert (examples[1].id, examples[1].label) == ("r2", 0)
    multiline = write(
        tmp_path, "m.csv", COSMOS_HEADER + 'r1,"two\r\nlines",q,a,b,c,d,1\r\nr2,c,"open,q,a,b,c,d,0\r\n'
    )
    assert_read_fails("cosmosqa_csv", {"path": multiline}, multiline, 4, "bad csv quoting")
    unlabelled = write(tmp_path, "test.csv", COSMOS_HEADER.replace(",label", "") + "r,c,q,a,b,c,d\n")
    assert read("cosmosqa_csv", {"path": unlabelled})[0].label is None


def test_cosmosqa_malformed(tmp_path: Path) -> None:
    path = write(tmp_path, "valid.csv", COSMOS_HEADER + "r1,c,q,a,b,c,d,0\r\nr2,c,q,a,b,c,d,4\r\n")
    assert_read_fails("cosmosqa_csv", {"path": path}, path, 3, "label 4 is not one of 0, 1, 2, 3")
    header = write(tmp_path, "h.csv", "id,text,label\r\nr,c,0")
    assert_read_fails("cosmosqa_csv", {"path": header}, header, 1, "expected the header")


# ---------------------------------------------------------------- tatoeba / bucc


def test_tatoeba_aligned_lines(tmp_path: Path) -> None:
    source = write(tmp_path, "tatoeba.deu-eng.deu", "Hallo.\r\nDanke.")
    target = write(tmp_path, "tatoeba.deu-eng.eng", "Hello.\nThanks.\n")
    corpus = read("tatoeba", {"source": source, "target": target})
    assert corpus.queries == ("Hallo.", "Danke.") and corpus.candidates == ("Hello.", "Thanks.")
    assert corpus.gold == {"src-1": frozenset({"tgt-1"}), "src-2": frozenset({"tgt-2"})}
    assert set(corpus.query_ids) == set(corpus.gold) and len(corpus) == 2


def test_tatoeba_misaligned_and_empty_lines(tmp_path: Path) -> None:
    source = write(tmp_path, "t.deu", "a\nb\nc\n")
    target = write(tmp_path, "t.eng", "a\nb\n")
    assert_read_fails(
        "tatoeba", {"source": source, "target": target}, source, None, f"has 3 lines but {target} has 2"
    )
    gap = write(tmp_path, "g.eng", "a\n\nc\n")
    assert_read_fails("tatoeba", {"source": source, "target": gap}, gap, 2, "empty line")


def test_bucc_gold_pairs(tmp_path: Path) -> None:
    source = write(tmp_path, "zh-en.dev.zh", "zh-1\t你好\nzh-2\t谢谢\n")
    target = write(tmp_path, "zh-en.dev.en", "en-1\tThanks\nen-2\tHello\nen-3\tHi\n")
    gold = write(tmp_path, "zh-en.dev.gold", "zh-1\ten-2\nzh-1\ten-3\n")
    corpus = read("bucc", {"source": source, "target": target, "gold": gold})
    assert corpus.query_ids == ("zh-1", "zh-2") and corpus.candidates == ("Thanks", "Hello", "Hi")
    assert corpus.gold == {"zh-1": frozenset({"en-2", "en-3"})}


def test_bucc_unknown_gold_id(tmp_path: Path) -> None:
    source = write(tmp_path, "s", "zh-1\ta\n")
    target = write(tmp_path, "t", "en-1\tb\n")
    gold = write(tmp_path, "g", "zh-1\ten-1\nzh-1\ten-9\n")
    assert_read_fails(
        "bucc",
        {"source": source, "target": target, "gold": gold},
        gold,
        2,
        f"target id 'en-9' is not in {target}",
    )


# ---------------------------------------------------------------- real data


def _counts(table: str) -> dict[str, tuple[int, int]]:
    """`name n m` triples separated by whitespace, copied from SOURCES.md's per-file counts."""
    words = table.split()
    assert len(words) % 3 == 0
    return {words[i]: (int(words[i + 1]), int(words[i + 2])) for i in range(0, len(words), 3)}


# sentences, tokens
UDPOS = _counts("""
dev-af 194 5317 dev-ar 909 25986 dev-bg 1115 16089 dev-el 403 10139 dev-en 3974 62632 dev-es 3054 88625
dev-et 3125 44632 dev-eu 1798 24095 dev-fa 599 15755 dev-fi 3239 33984 dev-fr 2903 56134 dev-he 484 8358
dev-hi 1659 35217 dev-hu 441 11418 dev-id 559 12612 dev-it 2278 54645 dev-ja 511 11477 dev-ko 3016 37236
dev-lt 672 12646 dev-mr 46 400 dev-nl 1394 22938 dev-pl 3960 47534 dev-pt 1770 39883 dev-ro 2247 50254
dev-ru 8108 140291 dev-ta 80 1129 dev-te 131 662 dev-tr 988 9777 dev-uk 672 12573 dev-ur 552 14581
dev-vi 800 11514 dev-wo 449 9966 dev-zh 1000 25326
test-af 425 10065 test-ar 1680 44952 test-bg 1116 15724 test-el 456 10422 test-en 5440 84970
test-es 3147 86988 test-et 3760 58579 test-eu 1799 24374 test-fa 600 15925 test-fi 4422 53111
test-fr 5009 79620 test-he 491 8829 test-hi 2684 59259 test-hu 449 10448 test-id 1557 31680
test-it 3518 74955 test-ja 2372 53592 test-kk 1047 9872 test-ko 4276 56627 test-lt 739 11906
test-mr 47 376 test-nl 1471 22602 test-pl 4942 64802 test-pt 2681 60701 test-ro 2272 51862
test-ru 8976 158356 test-ta 120 1772 test-te 146 721 test-th 1000 22322 test-tl 55 292 test-tr 4785 42843
test-uk 892 17114 test-ur 535 14806 test-vi 800 11955 test-wo 470 10049 test-yo 100 2664 test-zh 3455 62569
train-af 1315 33894 train-ar 6075 191869 train-el 1662 41212 train-en 21253 375194 train-eu 5396 72974
train-he 5241 98348 train-hu 910 20166 train-id 4477 97531 train-kk 31 511 train-lt 2494 50851
train-mr 373 2730 train-ta 400 5734 train-te 1051 5082 train-tr 3664 36822 train-uk 5496 92355
train-ur 4043 108690 train-vi 1400 20285 train-wo 1188 22817 train-zh 7994 197232
""")

# sentences, tokens
PANX = _counts("""
dev-af 1000 10894 dev-ar 10000 64291 dev-bg 10000 83582 dev-bn 1000 4361 dev-de 10000 97805
dev-el 10000 89878 dev-en 10000 80536 dev-es 10000 64329 dev-et 10000 80803 dev-eu 10000 92741
dev-fa 10000 59953 dev-fi 10000 83558 dev-fr 10000 68220 dev-he 10000 85897 dev-hi 1000 5808
dev-hu 10000 88792 dev-id 10000 61913 dev-it 10000 80005 dev-ja 10000 300844 dev-jv 100 585
dev-ka 10000 81159 dev-kk 1000 8039 dev-ko 10000 80786 dev-ml 1000 7025 dev-mr 1000 7060 dev-ms 1000 5867
dev-my 100 853 dev-nl 10000 84146 dev-pt 10000 64114 dev-ru 10000 70279 dev-sw 1000 5609 dev-ta 1000 7293
dev-te 1000 8080 dev-tl 1000 4473 dev-tr 10000 75930 dev-ur 1000 5027 dev-vi 10000 64222 dev-yo 100 489
dev-zh 10000 213682
train-ar 20000 129184 train-de 20000 195387 train-en 20000 160394 train-es 20000 129283
train-fr 20000 136788 train-hi 5000 29443 train-ru 20000 141529 train-zh 20000 420054
""")

UPOS_TAGS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
PANX_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]

# questions, paragraphs (file paths relative to the data folder)
SQUAD = _counts("""
xtreme/xquad/xquad.ar.json 1190 240 xtreme/xquad/xquad.de.json 1190 240 xtreme/xquad/xquad.el.json 1190 240
xtreme/xquad/xquad.en.json 1190 240 xtreme/xquad/xquad.es.json 1190 240 xtreme/xquad/xquad.hi.json 1190 240
xtreme/xquad/xquad.ro.json 1190 240 xtreme/xquad/xquad.ru.json 1190 240 xtreme/xquad/xquad.th.json 1190 240
xtreme/xquad/xquad.tr.json 1190 240 xtreme/xquad/xquad.vi.json 1190 240 xtreme/xquad/xquad.zh.json 1190 240
xtreme/mlqa/dev/dev-context-ar-question-ar.json 517 439
xtreme/mlqa/dev/dev-context-de-question-de.json 512 456
xtreme/mlqa/dev/dev-context-en-question-en.json 1148 978
xtreme/mlqa/dev/dev-context-es-question-es.json 500 454
xtreme/mlqa/dev/dev-context-hi-question-hi.json 507 425
xtreme/mlqa/dev/dev-context-vi-question-vi.json 511 451
xtreme/mlqa/dev/dev-context-zh-question-zh.json 504 443
xtreme/tydiqa/language_data/arabic/arabic_tydiqa_dev.json 921 921
xtreme/tydiqa/language_data/bengali/bengali_tydiqa_dev.json 113 113
xtreme/tydiqa/language_data/english/english_tydiqa_dev.json 440 440
xtreme/tydiqa/language_data/finnish/finnish_tydiqa_dev.json 782 782
xtreme/tydiqa/language_data/indonesian/indonesian_tydiqa_dev.json 565 565
xtreme/tydiqa/language_data/korean/korean_tydiqa_dev.json 276 276
xtreme/tydiqa/language_data/russian/russian_tydiqa_dev.json 812 812
xtreme/tydiqa/language_data/swahili/swahili_tydiqa_dev.json 499 499
xtreme/tydiqa/language_data/telugu/telugu_tydiqa_dev.json 669 669
xtreme/tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json 3696 3696
xtreme/tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.ko.train.json 1625 1625
xtreme/tydiqa/tydiqa-goldp-v1.1-train/tydiqa.goldp.sw.train.json 2755 2755
xtreme-r/lareqa/xquad-r/ar.json 1190 240 xtreme-r/lareqa/xquad-r/de.json 1190 240
xtreme-r/lareqa/xquad-r/el.json 1190 240 xtreme-r/lareqa/xquad-r/en.json 1190 240
xtreme-r/lareqa/xquad-r/es.json 1190 240 xtreme-r/lareqa/xquad-r/hi.json 1190 240
xtreme-r/lareqa/xquad-r/ru.json 1190 240 xtreme-r/lareqa/xquad-r/th.json 1190 240
xtreme-r/lareqa/xquad-r/tr.json 1190 240 xtreme-r/lareqa/xquad-r/vi.json 1190 240
xtreme-r/lareqa/xquad-r/zh.json 1190 240
""")
# Distinct ids before de-duplication in the TyDiQA train files (SOURCES.md gives en; ko, sw measured).
TYDIQA_TRAIN_DISTINCT_IDS = {"en": 89, "ko": 94, "sw": 74}

XCOPA_LANGS = "et ht id it qu sw ta th tr vi zh".split()
# (reader, path, records, options)
MULTIPLE_CHOICE = [
    *[("copa_jsonl", f"xtreme-r/xcopa/{lang}/val.{lang}.jsonl", 100, {}) for lang in XCOPA_LANGS],
    *[("copa_jsonl", f"xtreme-r/xcopa/{lang}/test.{lang}.jsonl", 500, {}) for lang in XCOPA_LANGS],
    ("copa_jsonl", "intermediate/copa/train-en.jsonl", 400, {}),
    ("copa_jsonl", "intermediate/copa/val-en.jsonl", 100, {}),
    ("copa_jsonl", "intermediate/copa/test-en.jsonl", 500, {"labels_are_placeholders": True}),
    ("siqa_jsonl", "intermediate/siqa/socialIQa_v1.4_dev.jsonl", 1954, {}),
    ("commonsenseqa_jsonl", "intermediate/commonsenseqa/dev_rand_split.jsonl", 1221, {}),
    ("cosmosqa_csv", "intermediate/cosmosqa/valid.csv", 2985, {}),
]
PAWSX_LANGS = "de en es fr ja ko zh".split()
XNLI_LANGS = "ar bg de el en es fr hi ru sw th tr ur vi zh".split()
# Rows whose sentences hold a `"` after csv unquoting (SOURCES.md); en has none.
PAWSX_QUOTED_ROWS = {"de": 9, "en": 0, "es": 155, "fr": 207, "ja": 11, "ko": 145, "zh": 5}


@needs_data
def test_every_real_file_of_these_formats_is_in_the_tables() -> None:
    def names(folder: str, pattern: str) -> set[str]:
        return {p.stem if p.suffix == ".tsv" else p.name for p in (DATA / folder).glob(pattern)}

    assert names("xtreme/udpos", "*.tsv") == set(UDPOS)
    assert names("xtreme/panx", "*.tsv") == set(PANX)
    squad_files = {str(p.relative_to(DATA)) for p in DATA.rglob("*.json")}
    assert squad_files == set(SQUAD)
    jsonl_and_csv = {str(p.relative_to(DATA)) for p in [*DATA.rglob("*.jsonl"), *DATA.rglob("*.csv")]}
    assert jsonl_and_csv == {path for _, path, _, _ in MULTIPLE_CHOICE}
    assert names("xtreme/pawsx", "*.tsv") == {f"dev-{lang}" for lang in PAWSX_LANGS}
    assert names("xtreme/xnli", "*.tsv") == {f"dev-{lang}" for lang in XNLI_LANGS}


@pytest.mark.slow
@needs_data
@pytest.mark.parametrize(
    ("folder", "name"), [("udpos", name) for name in UDPOS] + [("panx", name) for name in PANX]
)
def test_real_tagging_counts(folder: str, name: str) -> None:
    table, tags = (UDPOS, UPOS_TAGS) if folder == "udpos" else (PANX, PANX_TAGS)
    examples = read("xtreme_tsv_tagging", {"path": DATA / "xtreme" / folder / f"{name}.tsv"}, labels=tags)
    assert (len(examples), sum(len(e.tokens) for e in examples)) == table[name]


@needs_data
@pytest.mark.parametrize("lang", PAWSX_LANGS)
def test_real_pawsx(lang: str) -> None:
    examples = read("xtreme_tsv_pairs", {"path": DATA / f"xtreme/pawsx/dev-{lang}.tsv"}, labels=["0", "1"])
    assert len(examples) == 2000
    assert sum('"' in e.text_a or '"' in e.text_b for e in examples) == PAWSX_QUOTED_ROWS[lang]
    # No field keeps its csv wrapping quotes.
    assert not any(e.text_a.startswith('"') and e.text_a.endswith('"') for e in examples)


@needs_data
@pytest.mark.parametrize("lang", XNLI_LANGS)
def test_real_xnli(lang: str) -> None:
    examples = read("xtreme_tsv_pairs", {"path": DATA / f"xtreme/xnli/dev-{lang}.tsv"}, labels=NLI_LABELS)
    assert Counter(e.label for e in examples) == {label: 830 for label in NLI_LABELS}


@needs_data
@pytest.mark.parametrize(("name", "sentences", "words"), [("dev", 2001, 25147), ("test", 2077, 25094)])
def test_real_en_ewt(name: str, sentences: int, words: int) -> None:
    examples = read("conllu", {"path": DATA / f"ud/en_ewt/en_ewt-ud-{name}.conllu"}, labels=UPOS_TAGS)
    assert (len(examples), sum(len(e.tokens) for e in examples)) == (sentences, words)
    assert len({e.id for e in examples}) == sentences


@needs_data
@pytest.mark.parametrize("relative", list(SQUAD))
def test_real_squad_files(relative: str) -> None:
    examples = read("squad_json", {"path": DATA / relative})
    questions, paragraphs = SQUAD[relative]
    assert len(examples) == questions
    assert len({e.id for e in examples}) == questions
    assert all(e.answers and e.context.startswith(a.text, a.start) for e in examples for a in e.answers)
    if "tydiqa" in relative:
        # One paragraph per question; the same passage can serve several questions.
        assert paragraphs == questions
    else:
        assert len({e.context for e in examples}) == paragraphs
    if ".train." in relative:
        lang = relative.split(".")[-3]
        assert len({e.id.split("#")[0] for e in examples}) == TYDIQA_TRAIN_DISTINCT_IDS[lang]


@needs_data
@pytest.mark.parametrize(("reader", "relative", "records", "options"), MULTIPLE_CHOICE)
def test_real_multiple_choice(reader: str, relative: str, records: int, options: dict[str, object]) -> None:
    examples = read(reader, {"path": DATA / relative}, **options)
    assert len(examples) == records
    assert len({e.id for e in examples}) == records
    if options.get("labels_are_placeholders"):
        assert all(e.label is None for e in examples)
    else:
        assert all(e.label is not None and 0 <= e.label < len(e.choices) for e in examples)


@needs_data
def test_real_tatoeba() -> None:
    lengths: dict[str, int] = {}
    for target in sorted((DATA / "xtreme/tatoeba").glob("tatoeba.*-eng.eng")):
        code = target.name.split(".")[1].removesuffix("-eng")
        corpus = read("tatoeba", {"source": target.with_suffix(f".{code}"), "target": target})
        lengths[code] = len(corpus)
    assert len(lengths) == 112
    assert sum(lengths.values()) == 88877
    assert sum(n == 1000 for n in lengths.values()) == 72
    assert min(lengths.values()) == lengths["tzl"] == 104


@needs_data
def test_real_bucc() -> None:
    folder = DATA / "xtreme/bucc2018"
    files = {
        "source": folder / "zh-en.dev.zh",
        "target": folder / "zh-en.dev.en",
        "gold": folder / "zh-en.dev.gold",
    }
    corpus = read("bucc", files)
    assert (len(corpus.queries), len(corpus.candidates)) == (8624, 13589)
    assert sum(len(found) for found in corpus.gold.values()) == 257

"""The findings block: the study's answer, before the detail it rests on."""

from __future__ import annotations

from xstilts.report.blocks import DASH, UNITS, Block, Table, delta, p_value, score
from xstilts.report.model import Delta, StudyReport
from xstilts.report.sections import slug
from xstilts.report.summary import primary_sections


def findings_block(study: StudyReport, level: str) -> Block | None:
    """The answer first: every non-baseline arm's gain on every task's language average.

    Columns are the sections the heat map and the structured/sentence split use (one per task:
    a target task after target training, a retrieval task after the intermediate phase); a cell
    is the language-average row of that section's difference table, so the two agree. The
    baseline's row gives its score, the level each gain is measured from."""
    # A task scored after a phase other than target training is a retrieval task (target tasks
    # are only scored after it): the set `summary.primary_sections` wants to choose their phase.
    retrieval_tasks = {s.task for s in study.sections if s.phase != "target"}
    retrieval = {s.key for s in study.sections if s.task in retrieval_tasks}
    columns = [s for s in primary_sections(study.sections, retrieval) if s.deltas and s.tables[0].rows]
    if not columns:
        return None
    arms: list[str] = []
    for s in columns:
        arms += [d.arm for d in s.deltas if d.arm not in arms]
    # A section's first score row is the arm its differences are from (as in `layout`'s difference tables).
    baseline = columns[0].tables[0].rows[0].arm

    def seeds(arm: str) -> str:
        # Seeds behind the language average (those that scored every language), per task;
        # one number when the tasks agree, else the range (the baseline's retrieval row is
        # the pretrained encoder: one model, one "seed").
        found = sorted({row.average.seeds for s in columns for row in s.tables[0].rows if row.arm == arm})
        if not found:
            return DASH
        return str(found[0]) if len(found) == 1 else f"{found[0]}-{found[-1]}"

    # Retrieval sections measure from the pretrained encoder, target sections from the baseline arm.
    firsts = list(dict.fromkeys(s.tables[0].rows[0].arm for s in columns))
    base = [f"baseline score ({' / '.join(firsts)})", *(score(s.tables[0].rows[0].average) for s in columns)]
    rows, strong = [[*base, seeds(baseline)]], set()
    measured = up = down = 0
    for i, arm in enumerate(arms, start=1):
        cells = []
        for j, s in enumerate(columns, start=1):
            d = next((d.average for d in s.deltas if d.arm == arm), None)
            cells.append(DASH if d is None else _gain_p(d))
            measured += d is not None and d.low is not None
            if d is not None and d.significant:
                strong.add((i, j))
                above = d.low is not None and d.low > 0  # else the interval is below 0
                up, down = up + above, down + (not above)
        rows.append([arm, *cells, seeds(arm)])
    header = ["arm", *(f"{s.title}, {s.metric}" for s in columns), "seeds"]
    table = Table(
        f"{slug(study.name)}-findings-table",
        f"Gain over {baseline} in the language average (points), {level} interval, p",
        header,
        rows,
        strong=strong,
    )
    block = Block(f"{slug(study.name)}-findings", "Findings: gain over the baseline", 3)
    block.paragraphs.append(
        f"{UNITS} Each cell: an arm's gain over {baseline} in the task's language average, its "
        f"{level} interval and the paired bootstrap p; bold: the interval excludes 0 "
        f"({_count(up, 'gain')} and {_count(down, 'loss', 'losses')} of {measured} with an interval, "
        "not corrected for the number of comparisons). seeds: the seeds that scored every language. "
        "Per-language differences are in each task's section below."
    )
    block.items.append(table)
    return block


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _gain_p(d: Delta) -> str:
    """'+4.1 [2.4, 6.3] p=0.010': the gain, its interval and its p in one cell."""
    if d.p_value is None:
        return delta(d)
    p = p_value(d.p_value)
    return f"{delta(d)} p{p}" if p.startswith("<") else f"{delta(d)} p={p}"

"""Entry points for schedules: they fill in the period or year a schedule cannot carry.

A Prefect schedule passes the same parameters every time, but the monthly evaluation needs
*last month* and the yearly term review *this year*. These thin flows compute them from the
run's scheduled time in Asia/Shanghai (so a late or retried run still evaluates the month it
was scheduled for) and call the lifecycle flows as subflows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.artifacts import create_markdown_artifact
from zhucun.flows.common import artifact_key, subflows
from zhucun.flows.parameters import CountyCode, CycleYear, Period

TIMEZONE = "Asia/Shanghai"


def previous_period(at: datetime, tz: str = TIMEZONE) -> str:
    """The month before `at` in `tz`, as YYYY-MM: a run at 02:00 on 1 March in Beijing
    (18:00 on 28 February UTC) evaluates February, not January."""
    local = at.astimezone(ZoneInfo(tz))
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def local_year(at: datetime, tz: str = TIMEZONE) -> int:
    """The calendar year of `at` in `tz` (a run at 00:30 on 1 January in Beijing is in the
    new year although it is still 31 December in UTC)."""
    return at.astimezone(ZoneInfo(tz)).year


def scheduled_time() -> datetime:
    """When this run was scheduled to start (now, outside a run)."""
    from prefect.runtime import flow_run

    at = flow_run.scheduled_start_time
    return at if isinstance(at, datetime) else datetime.now(UTC)


def _monthly_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters
    period = p.get("period") or previous_period(scheduled_time())
    return f"monthly-evaluation-{p['county']}-{period}"


def _yearly_name() -> str:
    from prefect.runtime import flow_run

    p = flow_run.parameters
    return f"team-term-review-{p['county']}-{p.get('year') or local_year(scheduled_time())}"


@flow(name="monthly-progress-evaluation", flow_run_name=_monthly_name)
def monthly_progress_evaluation(county: CountyCode, period: Period | None = None) -> dict[str, Any]:
    """Evaluate progress, then monitor relapse, for one month (default: the previous month).

    Args:
        county: County code, 6 digits.
        period: YYYY-MM; empty means the month before the scheduled time (Asia/Shanghai).
    """
    # Imported here: the lifecycle flows are other modules' entry points, loaded per run.
    from zhucun.flows.evaluation import evaluate_progress, monitor_relapse

    period = period or previous_period(scheduled_time())
    with subflows():
        evaluation = evaluate_progress(county=county, period=period)
        relapse = monitor_relapse(county=county, period=period)
    create_markdown_artifact(
        key=artifact_key("monthly-evaluation", county),
        markdown=f"# Monthly evaluation {county} {period}\n\n"
        f"- progress evaluation: `{_brief(evaluation)}`\n"
        f"- relapse monitoring: `{_brief(relapse)}`\n",
        description=f"Scheduled evaluation of {county} for {period}",
    )
    return {"county": county, "period": period}


@flow(name="yearly-team-term-review", flow_run_name=_yearly_name)
def yearly_team_term_review(county: CountyCode, year: CycleYear | None = None) -> dict[str, Any]:
    """Review the resident teams whose term ends this year (default: the scheduled year).

    Args:
        county: County code, 6 digits.
        year: The year whose ending terms to review; empty means the scheduled year.
    """
    from zhucun.flows.dispatch import review_team_terms

    year = year or local_year(scheduled_time())
    with subflows():
        review_team_terms(county=county, year=year)
    return {"county": county, "year": year}


def _brief(result: object) -> str:
    """A one-line view of a subflow's summary dict (counts only; never personal data)."""
    if isinstance(result, dict):
        return ", ".join(f"{k}={v}" for k, v in result.items() if isinstance(v, int | float | str))
    return type(result).__name__

"""The single list of zhucun's deployments, as data.

Both ways of running them read this list: `deployments/serve.py` (one machine, `zhucun up`)
builds `RunnerDeployment`s from it, and `deployments/prefect.yaml` (a process work pool and
workers on several machines) is generated from it by `zhucun deploy yaml`; a test checks
that the committed YAML is what this module renders, so the two never diverge.

Deployment names equal flow names, so every deployment is `<name>/<name>`, e.g.
`prefect deployment run 'dispatch-cycle/dispatch-cycle' -p county=522626 -p cycle_year=2026`.

Schedules run in Asia/Shanghai. A schedule needs a county: it comes from the deployment's
default parameters, filled from `ZHUCUN_COUNTY` (or `zhucun up --county`). Without a county
the county-bound schedules are registered *inactive* (visible in the UI, never firing) and
the daily overdue check covers every county.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = Path(__file__).resolve().with_name("prefect.yaml")
TIMEZONE = "Asia/Shanghai"
WORK_POOL = "zhucun"
PROVINCE_QUEUE = "province"


@dataclass(frozen=True)
class ScheduleDef:
    """A cron schedule in Asia/Shanghai; `needs_county` schedules stay inactive without one."""

    cron: str
    summary: str
    needs_county: bool = True
    timezone: str = TIMEZONE


@dataclass(frozen=True)
class DeploymentDef:
    name: str  # deployment name == flow name
    entrypoint: str  # flows/<module>.py:<function>, relative to the repository root
    description: str
    stage: str
    parameters: dict[str, Any] = field(default_factory=dict)
    schedule: ScheduleDef | None = None
    county_parameter: bool = True  # fill `county` from ZHUCUN_COUNTY when set
    # The pool's queue: county work on `default`; a run that only waits for others on
    # `province`, so it never takes the slot of a worker started with `--limit`.
    work_queue: str = "default"

    @property
    def full_name(self) -> str:
        """`<flow>/<deployment>`, as `prefect deployment run` and `run_deployment` want it."""
        return f"{self.name}/{self.name}"

    @property
    def module_path(self) -> Path:
        return REPO_ROOT / self.entrypoint.split(":", 1)[0]

    def tags(self, county: str | None) -> list[str]:
        tags = ["zhucun", f"stage:{self.stage}"]
        if county and self.county_parameter:
            tags.append(f"county:{county}")
        return tags

    def default_parameters(self, county: str | None) -> dict[str, Any]:
        params = dict(self.parameters)
        if county and self.county_parameter:
            params["county"] = county
        return params

    def schedule_active(self, county: str | None) -> bool:
        return self.schedule is not None and (bool(county) or not self.schedule.needs_county)


DEPLOYMENTS: tuple[DeploymentDef, ...] = (
    DeploymentDef(
        name="dispatch-cycle",
        entrypoint="flows/dispatch.py:dispatch_cycle",
        stage="dispatch",
        description="Dispatch resident work teams to every poor village of a county without an "
        "active team, and designate a helper for every poor household (驻村工作队选派).",
    ),
    DeploymentDef(
        name="assistance-cycle",
        entrypoint="flows/cycle.py:assistance_cycle",
        stage="cycle",
        description="The whole assistance cycle for a county and year: dispatch, village "
        "analysis, cause assessment, plans, household strategies and review.",
    ),
    DeploymentDef(
        name="evaluate-progress",
        entrypoint="flows/evaluation.py:evaluate_progress",
        stage="evaluation",
        description="Progress evaluation of one period (YYYY-MM): household exit checks "
        "(income above the line, 两不愁三保障) and village incidence.",
    ),
    DeploymentDef(
        name="review-cycle",
        entrypoint="flows/review.py:review_cycle",
        stage="review",
        description="Review of plans and household strategies: team signs, village committee "
        "co-signs, township approves; conflicts of interest escalate; publicity.",
    ),
    DeploymentDef(
        name="monitor-relapse",
        entrypoint="flows/evaluation.py:monitor_relapse",
        stage="monitoring",
        description="Monitoring (防止返贫动态监测) of every rural household for one period: "
        "open the identification procedure (监测对象识别) of exited or never-registered "
        "households under the threshold or floored by a shock (surveys and clues of the last "
        "12 months), and the risk-elimination procedure (风险消除) of monitored households "
        "meeting its six conditions; the county's monitoring picture as an artifact.",
    ),
    DeploymentDef(
        name="review-team-terms",
        entrypoint="flows/dispatch.py:review_team_terms",
        stage="dispatch",
        description="Review the resident teams whose term ends in the given year.",
    ),
    DeploymentDef(
        name="village-exit-review",
        entrypoint="flows/village_exit.py:village_exit_review",
        stage="exit",
        county_parameter=False,
        description="Re-check an exit-eligible village's incidence for a period and open the "
        "township publicity (乡镇内公示). Triggered by the `zhucun.village.exit-eligible` "
        "event through the automation of the same name.",
    ),
    DeploymentDef(
        name="check-overdue-reviews",
        entrypoint="flows/review.py:check_overdue_reviews",
        stage="review",
        description="Daily: find review steps past their deadline and emit "
        "`zhucun.review.overdue` (the automation notifies).",
        schedule=ScheduleDef(cron="0 8 * * *", summary="every day at 08:00", needs_county=False),
    ),
    DeploymentDef(
        name="check-monitoring-clocks",
        entrypoint="flows/monitoring_clock.py:check_monitoring_clocks",
        stage="monitoring",
        description="Daily: flag monitoring clues (防止返贫监测线索) still open past their 15 "
        "days and monitored households without a development measure a month after "
        "identification; one `zhucun.monitoring.clue-overdue` / "
        "`zhucun.monitoring.case-without-measure` event per county (counts only).",
        schedule=ScheduleDef(cron="30 8 * * *", summary="every day at 08:30", needs_county=False),
    ),
    DeploymentDef(
        name="procedures-daily",
        entrypoint="flows/procedures.py:procedures_daily",
        stage="procedures",
        description="Daily: the procedures' calendar (识别 两公示一公告, 贫困户退出, 贫困村退出) — "
        "publicity windows close on their day, the data cross-check runs, meeting minutes "
        "apply; where every case stands and the notices to post, as artifacts.",
        schedule=ScheduleDef(cron="0 9 * * *", summary="every day at 09:00"),
    ),
    DeploymentDef(
        name="procedure-forms",
        entrypoint="flows/procedure_forms.py:procedure_forms",
        stage="procedures",
        description="Decide procedure stages (识别, 贫困户退出, 贫困村退出, 监测对象识别, "
        "风险消除) in the Prefect UI: the run suspends with one form per signing body and stage — "
        "民主评议 with its tally, 核实, 户认可 or 承诺授权 with who signed, 乡镇审核, 县级审批, "
        "公告 — judged like the CLI.",
    ),
    DeploymentDef(
        name="measure-delivery-forms",
        entrypoint="flows/delivery_forms.py:measure_delivery_forms",
        stage="delivery",
        description="Record measure delivery (措施落实) in the Prefect UI: the run suspends with "
        "one form per village listing the open measures of the strategies in force (户编号, "
        "masked head, measure in Chinese, state); new state, date, amount spent and evidence "
        "per measure, recorded by the household's helper or a team member — judged and written "
        "like `zhucun measures deliver`, all or nothing, refusals on the next form.",
    ),
    DeploymentDef(
        name="monthly-progress-evaluation",
        entrypoint="flows/scheduled.py:monthly_progress_evaluation",
        stage="evaluation",
        description="Monthly: evaluate progress and monitor relapse for the previous month "
        "(the period is computed from the run's scheduled time in Asia/Shanghai).",
        schedule=ScheduleDef(cron="0 2 1 * *", summary="the 1st of every month at 02:00"),
    ),
    DeploymentDef(
        name="yearly-team-term-review",
        entrypoint="flows/scheduled.py:yearly_team_term_review",
        stage="dispatch",
        description="Yearly: review the resident teams whose term ends this year "
        "(the year is taken from the run's scheduled time in Asia/Shanghai).",
        schedule=ScheduleDef(cron="0 9 5 1 *", summary="every 5 January at 09:00"),
    ),
    DeploymentDef(
        name="province-cycle",
        entrypoint="flows/province.py:province_cycle",
        stage="province",
        county_parameter=False,
        work_queue=PROVINCE_QUEUE,
        description="A province's assistance cycle: one assistance-cycle deployment run per "
        "county (idempotency key per county and cycle), run by the work pool's workers on "
        "every machine, waited for; a table of counties, runs, states and minutes. A re-run "
        "starts nothing twice and re-runs a failed county once.",
    ),
    DeploymentDef(
        name="county-report",
        entrypoint="flows/report.py:county_report",
        stage="report",
        description="The county progress report (县级驻村帮扶工作进展报告) of a cycle year: PDF "
        "and HTML under the data directory's reports/, and the tables and charts as artifacts. "
        "Counts only, never a person.",
    ),
)


def configured_county() -> str | None:
    """The county that scheduled deployments default to (`ZHUCUN_COUNTY`), if any."""
    from zhucun.settings import get_settings

    return get_settings().county


def get_definition(name: str) -> DeploymentDef:
    for d in DEPLOYMENTS:
        if d.name == name:
            return d
    raise KeyError(name)


def prefect_yaml_data(county: str | None = None) -> dict[str, Any]:
    """`prefect.yaml` as data: a process work pool, the repository as working directory."""
    deployments: list[dict[str, Any]] = []
    for d in DEPLOYMENTS:
        entry: dict[str, Any] = {
            "name": d.name,
            "entrypoint": d.entrypoint,
            "description": d.description,
            "tags": d.tags(county),
            "parameters": d.default_parameters(county),
            "enforce_parameter_schema": False,
            "work_pool": {"name": WORK_POOL, "work_queue_name": d.work_queue},
            "schedules": [],
        }
        if d.schedule is not None:
            entry["schedules"].append(
                {
                    "cron": d.schedule.cron,
                    "timezone": d.schedule.timezone,
                    "active": d.schedule_active(county),
                }
            )
        deployments.append(entry)
    return {
        "name": "zhucun",
        "prefect-version": "3.9.1",
        "build": None,
        "push": None,
        "pull": [
            {
                "prefect.deployments.steps.set_working_directory": {
                    "directory": "{{ $ZHUCUN_REPO_DIR }}",
                }
            }
        ],
        "deployments": deployments,
    }


_HEADER = """\
# GENERATED by `zhucun deploy yaml` from deployments/definitions.py: edit that file, then
# regenerate (tests/test_deployments_smoke.py fails when the two disagree).
#
# Cluster use: every worker machine has this repository checked out (and installed) at
# $ZHUCUN_REPO_DIR, and ZHUCUN_DATABASE_URL pointing at the shared PostgreSQL database.
#   prefect work-pool create zhucun --type process
#   prefect deploy --all --prefect-file deployments/prefect.yaml   # from the repository root
#   prefect worker start --pool zhucun --work-queue default --limit 1   # on each machine
#   prefect worker start --pool zhucun --work-queue province  # one, for province-cycle runs
# County-bound schedules are inactive here; `zhucun deploy yaml --county CODE` renders
# them active with that county as the default parameter.
"""


def render_prefect_yaml(county: str | None = None) -> str:
    body = yaml.safe_dump(prefect_yaml_data(county), sort_keys=False, allow_unicode=True, width=100)
    return _HEADER + body

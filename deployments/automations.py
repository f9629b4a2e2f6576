"""Automations created from code, idempotently (create or update by name).

- `zhucun-village-exit-review`: a `zhucun.village.exit-eligible` event runs the
  `village-exit-review` deployment with the village and period taken from the event.
- `zhucun-review-overdue-notify`: a `zhucun.review.overdue` event sends a notification
  through the `zhucun-notify` block, a `CustomWebhookNotificationBlock` posting to a local
  URL (the stack's notification sink, `deployments/notify_sink.py`): works offline.
- `zhucun-dispatch-shortage-notify`: a `zhucun.dispatch.shortage` event notifies likewise.
- `zhucun-monitoring-clue-overdue-notify` and `zhucun-monitoring-no-measure-notify`: the
  daily monitoring clocks' `zhucun.monitoring.clue-overdue` (a clue undecided past its 15
  days) and `zhucun.monitoring.case-without-measure` (a monitored household without a
  development measure a month after identification) notify the township likewise; the
  payload carries counts by township code, never a household.

Event contract (emitted through `flows.common.emit`, non-personal payloads): the resource id
is `zhucun.village.<village_code>` (or `zhucun.county.<code>` for county-wide events) and the
exit-eligible payload carries `village` (the 12-digit code), `period` (YYYY-MM) and `county`
(as `flows/evaluation.py` emits it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NOTIFY_BLOCK = "zhucun-notify"
EXIT_ELIGIBLE = "zhucun.village.exit-eligible"
RELAPSE_RISK = "zhucun.household.relapse-risk"
REVIEW_OVERDUE = "zhucun.review.overdue"
DISPATCH_SHORTAGE = "zhucun.dispatch.shortage"
# emitted by flows/monitoring_clock.py (one per county and clock, counts by township)
CLUE_OVERDUE = "zhucun.monitoring.clue-overdue"
CASE_WITHOUT_MEASURE = "zhucun.monitoring.case-without-measure"
EXIT_REVIEW_DEPLOYMENT = "village-exit-review/village-exit-review"


@dataclass(frozen=True)
class AutomationResult:
    name: str
    id: str
    action: str  # created / updated / unchanged


def ensure_notify_block(url: str) -> Any:
    """Save (or overwrite) the `zhucun-notify` webhook block; returns its document id."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = CustomWebhookNotificationBlock(
        name="zhucun",
        url=url,
        method="POST",
        json_data={"subject": "{{subject}}", "body": "{{body}}", "source": "{{name}}"},
        allow_private_urls=True,  # the sink is on the loopback
        timeout=5,
    )
    return block.save(NOTIFY_BLOCK, overwrite=True)


def automation_specs(exit_deployment_id: Any, notify_block_id: Any | None) -> list[Any]:
    """The automations as data (AutomationCore objects), ready to create or compare."""
    from datetime import timedelta

    from prefect.events.actions import RunDeployment, SendNotification
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    def reactive(event: str) -> EventTrigger:
        return EventTrigger(
            expect={event},
            match={"prefect.resource.id": "zhucun.*"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        )

    specs = [
        AutomationCore(
            name="zhucun-village-exit-review",
            description="An exit-eligible village (incidence under the threshold) gets its "
            "exit review: re-check and open the township publicity.",
            tags=["zhucun"],
            trigger=reactive(EXIT_ELIGIBLE),
            actions=[
                RunDeployment(
                    source="selected",
                    deployment_id=exit_deployment_id,
                    parameters={
                        # single expressions: rendered with `| tojson`, so a code stays a
                        # JSON string (leading zeros kept); evaluate-progress emits `village`.
                        "village_code": "{{ event.payload.village }}",
                        "period": "{{ event.payload.period }}",
                    },
                )
            ],
        )
    ]
    if notify_block_id is not None:
        for name, event, subject, what in (
            (
                "zhucun-review-overdue-notify",
                REVIEW_OVERDUE,
                "zhucun: review overdue",
                "A review step is past its deadline",
            ),
            (
                "zhucun-dispatch-shortage-notify",
                DISPATCH_SHORTAGE,
                "zhucun: cadre shortage",
                "A village could not get a full resident team",
            ),
            (
                "zhucun-monitoring-clue-overdue-notify",
                CLUE_OVERDUE,
                "zhucun: 监测线索逾期未核实 (township)",
                "Monitoring clues undecided past their 15 days, by township",
            ),
            (
                "zhucun-monitoring-no-measure-notify",
                CASE_WITHOUT_MEASURE,
                "zhucun: 监测对象超1个月无开发式帮扶措施 (township)",
                "Monitored households without a development measure a month after "
                "identification, by township",
            ),
        ):
            specs.append(
                AutomationCore(
                    name=name,
                    description=f"{what}: notify through the {NOTIFY_BLOCK} block.",
                    tags=["zhucun"],
                    trigger=reactive(event),
                    actions=[
                        SendNotification(
                            block_document_id=notify_block_id,
                            subject=subject,
                            body=what + ": {{ event.resource.id }} "
                            "{{ event.payload | tojson }} (event {{ event.id }})",
                        )
                    ],
                )
            )
    return specs


def _same(a: Any, b: Any) -> bool:
    keys = {"name", "description", "enabled", "tags", "trigger", "actions"}
    return a.model_dump(mode="json", include=keys) == b.model_dump(mode="json", include=keys)


def ensure_automations(notify_url: str | None = None) -> list[AutomationResult]:
    """Create or update zhucun's automations by name against the current PREFECT_API_URL.

    Needs the `village-exit-review` deployment registered (serve or `prefect deploy`). A
    second call with the same inputs changes nothing; duplicates by name are removed."""
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore

    block_id = ensure_notify_block(notify_url) if notify_url else None
    results: list[AutomationResult] = []
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(EXIT_REVIEW_DEPLOYMENT)
        for spec in automation_specs(deployment.id, block_id):
            existing = client.read_automations_by_name(spec.name)
            for extra in existing[1:]:
                client.delete_automation(extra.id)
            if not existing:
                new_id = client.create_automation(spec)
                results.append(AutomationResult(spec.name, str(new_id), "created"))
                continue
            current = existing[0]
            if _same(AutomationCore(**current.model_dump(exclude={"id"})), spec):
                results.append(AutomationResult(spec.name, str(current.id), "unchanged"))
            else:
                client.update_automation(current.id, spec)
                results.append(AutomationResult(spec.name, str(current.id), "updated"))
    return results

"""The test county seeder itself: coherent and carrying each planted scenario."""

from __future__ import annotations

from sqlmodel import Session, func, select
from zhucun.models import Household, Relation, Village

from tests.support.county import seed_county
from zhucun.idnumber import id_number_problem


def test_seed_county_is_coherent(session: Session) -> None:
    info = seed_county(session)
    session.commit()
    assert session.exec(select(func.count()).select_from(Village)).one() == 6
    assert len(info.poor_households) == 4 * 20 + 2 * 2
    assert session.exec(select(func.count()).select_from(Relation)).one() == 5
    for hid, idn in info.id_numbers.items():
        assert id_number_problem(idn) is None, hid
    h = session.get(Household, info.poor_households[0])
    assert h is not None and h.labour_count <= h.size

"""Every number the generator draws from, with where it comes from.

Tags: **[C]** confirmed from the cited source
(most of them rows of `zhucun/reference_data/reference_statistics.csv`), **[GK]** general
knowledge, *not verified* against a source: plausible, documented, to be replaced by a
county's real figures when it has them. Policy numbers (poverty line, monitoring threshold,
caseload cap, team size, cause thresholds) are never here: they come from
`zhucun.policy.default_policy(year, region)`.
"""

from __future__ import annotations

from typing import Final

# --- Causes of poverty (main cause, A3a) ------------------------------------------------
# [C] illness: 42.4% of registered households were poor or back in poverty through illness
#     (registration to 2013/2014; NHFPC citing CPAD, 人民政协网 2017-08-27), 44.1% after the
#     2015-16 回头看 (reference_statistics.csv). We draw 42% as the main-cause share.
# [GK, unverified] the other main causes. Published national tables give *multi-select*
#     frequencies (e.g. Yunnan 2018: 缺技术 60.75%, 因病因残 38.49%, 交通 33.19%, 缺资金 25.55%,
#     自身动力不足 23.53%, 因学 18.46%, 缺劳力 13.80% of households, reference_statistics.csv),
#     not main-cause shares. The split below is the commonly quoted order of national
#     main causes after illness (缺资金 > 缺技术 > 缺劳力 > 因残 > 因学 > 因灾 > 交通 > 缺土地,
#     自身动力 > 缺水 > 其它), scaled to the remaining 58%. Unverified: replace with the
#     county's own 建档立卡 tables when available.
MAIN_CAUSE_SHARES: Final[dict[str, float]] = {
    "illness": 0.42,
    "capital": 0.13,
    "skills": 0.11,
    "labour": 0.09,
    "disability": 0.06,
    "schooling": 0.05,
    "disaster": 0.04,
    "transport": 0.03,
    "land": 0.025,
    "motivation": 0.025,
    "water": 0.015,
    "other": 0.005,
}
# [GK] a village without a paved road / safe water has more households poor for that reason;
# the other non-illness weights are rescaled so illness keeps its published share.
VILLAGE_GAP_CAUSE_FACTOR: Final[tuple[float, float]] = (3.0, 0.6)  # gap present / absent
# [GK] number of other causes (A3b, at most 2) a household has: none / one / two.
OTHER_CAUSE_COUNT_WEIGHTS: Final[tuple[float, float, float]] = (0.35, 0.40, 0.25)
# [GK, Yunnan 2018 multi-select order] how often each weak cause accompanies a main cause.
SECONDARY_WEIGHTS: Final[dict[str, float]] = {
    "skills": 0.30,
    "capital": 0.22,
    "transport": 0.14,
    "motivation": 0.12,
    "land": 0.08,
    "water": 0.06,
    "illness": 0.20,
    "disability": 0.10,
    "schooling": 0.10,
    "disaster": 0.06,
    "labour": 0.10,
}

# --- Incomes ---------------------------------------------------------------------------
# [C] registered poor per-capita net income 2,982 yuan (2015) against a 2,855 line: the
#     registry median sat just under the line, with a long right tail (domain-rules §1).
# [GK] per-capita income of a registered poor household = line x lognormal(ln 0.72, 0.30):
#     about 86% below the line, 14% above it (exit candidates), clipped to [0.2, 1.6] x line.
POOR_INCOME_MEDIAN_OF_LINE: Final[float] = 0.72
POOR_INCOME_SIGMA: Final[float] = 0.30
POOR_INCOME_CLIP_OF_LINE: Final[tuple[float, float]] = (0.20, 1.60)
# [C] 边缘易致贫户: never registered, income inside the monitoring range (line .. threshold),
#     domain-rules §6. [GK] their number: 12% of the registered poor households.
EDGE_HOUSEHOLD_SHARE: Final[float] = 0.12

# --- Households ------------------------------------------------------------------------
# [GK] household size of registered poor households (mean about 3.1; rural average 3.3).
HOUSEHOLD_SIZE_WEIGHTS: Final[dict[int, float]] = {
    1: 0.15,
    2: 0.22,
    3: 0.20,
    4: 0.20,
    5: 0.13,
    6: 0.07,
    7: 0.03,
}
# [GK] housing appraisal of registered poor households before renovation; C/D are unsafe.
HOUSING_WEIGHTS_POOR: Final[dict[str, float]] = {"A": 0.28, "B": 0.50, "C": 0.16, "D": 0.06}
HOUSING_WEIGHTS_EDGE: Final[dict[str, float]] = {"A": 0.50, "B": 0.45, "C": 0.05, "D": 0.0}
# [GK] failures of 两不愁三保障 among registered poor households.
FOOD_INSECURE: Final[float] = 0.04
EDUCATION_FAILURE: Final[float] = 0.04
MEDICAL_FAILURE: Final[float] = 0.05
# [GK] women head about 15% of poor households.
FEMALE_HEAD: Final[float] = 0.15
# [GK] 评级授信: by 2020 banks rated and granted a credit line to most registered poor
#     households able to work (应评尽评、应授尽授); about a third of poor households had
#     borrowed 扶贫小额信贷 (5 万元以下, 3 年, 免担保免抵押, 财政贴息). Independent of the cause.
CREDIT_RATED_WITH_LABOUR: Final[float] = 0.8

# --- Villages --------------------------------------------------------------------------
# [C] 12.8万 poor villages nationally; [GK] in a poverty county 30-45% of the administrative
#     villages were registered 贫困村 (一高一低一无: high incidence, low income, no
#     collective income).
POOR_VILLAGE_SHARE: Final[tuple[float, float]] = (0.30, 0.45)
# [GK] target poverty incidence (poor persons / population) by village type.
POOR_VILLAGE_INCIDENCE: Final[tuple[float, float]] = (0.08, 0.30)
OTHER_VILLAGE_INCIDENCE: Final[tuple[float, float]] = (0.01, 0.06)
NEAR_EXIT_VILLAGE_SHARE: Final[float] = 0.08  # poor villages near the 2%/3% exit line
# [GK] a village's population: lognormal, median 1,400, clipped to 250..6,000.
VILLAGE_POPULATION_MEDIAN: Final[float] = 1400.0
VILLAGE_POPULATION_SIGMA: Final[float] = 0.45
VILLAGE_POPULATION_CLIP: Final[tuple[int, int]] = (250, 6000)
# [C] villages per township in the sample counties: median 13.5-25 (reference_statistics).
VILLAGES_PER_TOWNSHIP: Final[dict[str, tuple[int, int, int]]] = {  # low, high, mode
    "镇": (10, 25, 15),
    "乡": (10, 24, 14),
    "街道": (2, 6, 3),
    "其它": (1, 4, 2),
}
# [GK] infrastructure present: (poor village, other village).
INFRASTRUCTURE: Final[dict[str, tuple[float, float]]] = {
    "road_paved": (0.70, 0.97),
    "safe_water": (0.72, 0.95),
    "electricity": (0.97, 1.00),
    "broadband": (0.55, 0.88),
    "clinic": (0.70, 0.93),
    "school": (0.35, 0.60),
    "cultural_center": (0.45, 0.82),
}
# [GK] terrain by region; plateau provinces (Tibet, Qinghai) are mostly plateau.
TERRAIN_WEIGHTS: Final[dict[str, dict[str, float]]] = {
    "east": {"plain": 0.30, "hill": 0.30, "mountain": 0.40, "plateau": 0.0},
    "central": {"plain": 0.20, "hill": 0.40, "mountain": 0.40, "plateau": 0.0},
    "west": {"plain": 0.08, "hill": 0.22, "mountain": 0.55, "plateau": 0.15},
    "plateau": {"plain": 0.05, "hill": 0.10, "mountain": 0.25, "plateau": 0.60},
}
PLATEAU_PROVINCES: Final[frozenset[str]] = frozenset({"54", "63"})
# [GK] distance from a township seat to the county seat, km, by region.
TOWNSHIP_DISTANCE_KM: Final[dict[str, tuple[float, float]]] = {
    "east": (5.0, 55.0),
    "central": (5.0, 65.0),
    "west": (8.0, 120.0),
}

# --- Cadres ----------------------------------------------------------------------------
# [GK] share of resident cadres by sponsor level (most are county and prefecture staff;
#     central units each assist a few designated counties, 定点帮扶).
AGENCY_LEVEL_WEIGHTS: Final[dict[str, float]] = {
    "central": 0.03,
    "provincial": 0.15,
    "prefectural": 0.22,
    "county": 0.60,
}
CADRE_HELPER_MARGIN: Final[float] = 1.15  # helpers for poor households / caseload cap x 1.15
CADRE_PER_POOR_VILLAGE: Final[int] = 5  # plus a full team (max size) per poor village
CADRE_AVAILABLE: Final[float] = 0.93
CADRE_FEMALE: Final[float] = 0.30
CADRE_PARTY_MEMBER: Final[float] = 0.78
CADRE_JUNIOR: Final[float] = 0.08  # started work last year or this year: not first secretary
CADRE_NEW_PARTY_MEMBER: Final[float] = 0.04  # joined the party this year
CADRE_COUPLE: Final[float] = 0.04  # share of cadres in a married couple of cadres
LOCAL_CADRE_HOME_VILLAGE: Final[float] = 0.45  # county cadres born in a village of the county

# --- Declared relations (conflict-of-interest material) ---------------------------------
# [GK] rates chosen so that every rule has cases in a small county, without swamping it.
CADRE_RELATED_TO_OFFICIAL: Final[float] = 0.03
CADRE_RELATED_TO_HEAD: Final[float] = 0.03
OFFICIAL_RELATED_TO_HEAD_VILLAGE: Final[float] = 0.30  # of poor villages: 优亲厚友 cases
REVIEWER_RELATED_TO_HEAD_TOWNSHIP: Final[float] = 0.35
HEAD_SIBLING_IN_VILLAGE: Final[float] = 0.02
RELATIVE_ELSEWHERE: Final[float] = 0.01

# --- Surveys ---------------------------------------------------------------------------
# [GK] quarterly follow-up visits after registration (month, day, year offset).
SURVEY_DATES: Final[tuple[tuple[int, int, int], ...]] = (
    (0, 6, 30),
    (0, 9, 30),
    (0, 12, 31),
    (1, 3, 31),
)
# trajectories of registered poor households below the line
POOR_TRAJECTORIES: Final[dict[str, float]] = {
    "exit": 0.40,
    "progress": 0.33,
    "stagnant": 0.17,
    "shock": 0.07,
    "exit_relapse": 0.03,
}
# trajectories of registered poor households already above the line (exit candidates)
ABOVE_TRAJECTORIES: Final[dict[str, float]] = {"exit": 0.75, "dip": 0.15, "shock": 0.10}
# trajectories of edge households (边缘易致贫户)
EDGE_TRAJECTORIES: Final[dict[str, float]] = {"stable": 0.65, "fall": 0.20, "shock": 0.15}
SHOCK_WEIGHTS: Final[dict[str, float]] = {
    "illness": 0.45,
    "accident": 0.20,
    "disaster": 0.20,
    "unemployment": 0.15,
}

# --- Ordinary rural households and monitoring clues (防止返贫监测, domain-rules §6) --------
# [GK] A county has many times more ordinary rural households than registered poor ones;
#     the generator writes a sample of them, a quarter of the poor households' number, so
#     a county stays quick to generate and import (`ordinary=` sets the number).
ORDINARY_HOUSEHOLD_SHARE: Final[float] = 0.25
# [GK] per-capita income of an ordinary household = threshold x lognormal(ln 2.0, 0.45):
#     about 6% under the monitoring threshold (the tail that becomes 边缘易致贫户), never
#     under the line (they would have been registered), at most 6 x the threshold.
ORDINARY_INCOME_MEDIAN_OF_THRESHOLD: Final[float] = 2.0
ORDINARY_INCOME_SIGMA: Final[float] = 0.45
ORDINARY_INCOME_MAX_OF_THRESHOLD: Final[float] = 6.0
ORDINARY_NO_LABOUR: Final[float] = 0.05  # elderly households without labour
# [GK] an ordinary household hit by a shock this year (illness, accident, disaster, job
#     loss): about one in seventeen; an illness brings a 合规自付 bill of 0.4-1.3 x the
#     household's yearly income, a disaster a loss of 0.3-1.0 x and, half the time, a
#     damaged house (grade C) — the 突发严重困难户 above the range.
ORDINARY_SHOCK: Final[float] = 0.06
ILLNESS_BILL_OF_INCOME: Final[tuple[float, float]] = (0.4, 1.3)
DISASTER_LOSS_OF_INCOME: Final[tuple[float, float]] = (0.3, 1.0)
# [GK] how a shock becomes a clue: a bill is pushed by 医保, a disaster by 应急 (and a
#     damaged house by 住建), an accident found on a cadre's visit, a lost job reported by
#     the household itself; some shocks reach no channel (the monthly run still sees them
#     in the surveys). A 教育 push for a child out of school, a 民政 one for a household
#     without labour that applies for 低保. A few clues are false alarms
#     (a bill the household copes with), to be dismissed with a reason.
CLUE_REPORTED: Final[float] = 0.8
DROPOUT_ALERT: Final[float] = 0.5
SCHOOL_COST_OF_INCOME: Final[float] = 0.15  # 教育 push: school costs over 15% of income
DIBAO_APPLICATION: Final[float] = 0.5  # a household without labour applies for 低保: 民政
FALSE_ALARM: Final[float] = 0.02
CLUE_DAYS_BEFORE_SURVEY: Final[tuple[int, int]] = (5, 40)
# Clues are dated up to 30 September of the registry year, never in the future of a
# county generated for a past year (the clue file refuses a future date).
CLUE_LAST_MONTH_DAY: Final[tuple[int, int]] = (9, 30)
# [C] registered poor households averaged 10,740 yuan per person at the end of 2020 against
#     a line of about 4,000 (domain-rules §1.5). [GK] from 2021 a household exits with
#     threshold x lognormal(ln 1.5, 0.3): about a tenth under the monitoring threshold.
MONITORING_FROM: Final[int] = 2021
EXIT_INCOME_MEDIAN_OF_THRESHOLD: Final[float] = 1.5
EXIT_INCOME_SIGMA: Final[float] = 0.3

"""reference data: regions, local authorities and the three programmes

England's 9 regions and 153 local authorities (from tracker/data/local_authorities.csv,
written out here so that this revision never changes), and the three programmes with
their milestone schedules and the targets DfE had published when they were set up.
DfE staff change targets in the service afterwards; the history is kept there, and a
downgrade takes out only the rows loaded here that nothing else refers to.

Revision ID: 0002
Revises: 0001
"""
from datetime import date, datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

REGIONS = ['North East', 'North West', 'Yorkshire and The Humber', 'East Midlands', 'West Midlands', 'East of England', 'London', 'South East', 'South West']

# la_code, ons_code, former ons_code, name, region. Barnsley and Sheffield changed ONS
# codes after a boundary change on 1 April 2025; older data still carries the former.
LOCAL_AUTHORITIES = [
    ('201', 'E09000001', None, 'City of London', 'London'),
    ('202', 'E09000007', None, 'Camden', 'London'),
    ('203', 'E09000011', None, 'Greenwich', 'London'),
    ('204', 'E09000012', None, 'Hackney', 'London'),
    ('205', 'E09000013', None, 'Hammersmith and Fulham', 'London'),
    ('206', 'E09000019', None, 'Islington', 'London'),
    ('207', 'E09000020', None, 'Kensington and Chelsea', 'London'),
    ('208', 'E09000022', None, 'Lambeth', 'London'),
    ('209', 'E09000023', None, 'Lewisham', 'London'),
    ('210', 'E09000028', None, 'Southwark', 'London'),
    ('211', 'E09000030', None, 'Tower Hamlets', 'London'),
    ('212', 'E09000032', None, 'Wandsworth', 'London'),
    ('213', 'E09000033', None, 'Westminster', 'London'),
    ('301', 'E09000002', None, 'Barking and Dagenham', 'London'),
    ('302', 'E09000003', None, 'Barnet', 'London'),
    ('303', 'E09000004', None, 'Bexley', 'London'),
    ('304', 'E09000005', None, 'Brent', 'London'),
    ('305', 'E09000006', None, 'Bromley', 'London'),
    ('306', 'E09000008', None, 'Croydon', 'London'),
    ('307', 'E09000009', None, 'Ealing', 'London'),
    ('308', 'E09000010', None, 'Enfield', 'London'),
    ('309', 'E09000014', None, 'Haringey', 'London'),
    ('310', 'E09000015', None, 'Harrow', 'London'),
    ('311', 'E09000016', None, 'Havering', 'London'),
    ('312', 'E09000017', None, 'Hillingdon', 'London'),
    ('313', 'E09000018', None, 'Hounslow', 'London'),
    ('314', 'E09000021', None, 'Kingston upon Thames', 'London'),
    ('315', 'E09000024', None, 'Merton', 'London'),
    ('316', 'E09000025', None, 'Newham', 'London'),
    ('317', 'E09000026', None, 'Redbridge', 'London'),
    ('318', 'E09000027', None, 'Richmond upon Thames', 'London'),
    ('319', 'E09000029', None, 'Sutton', 'London'),
    ('320', 'E09000031', None, 'Waltham Forest', 'London'),
    ('330', 'E08000025', None, 'Birmingham', 'West Midlands'),
    ('331', 'E08000026', None, 'Coventry', 'West Midlands'),
    ('332', 'E08000027', None, 'Dudley', 'West Midlands'),
    ('333', 'E08000028', None, 'Sandwell', 'West Midlands'),
    ('334', 'E08000029', None, 'Solihull', 'West Midlands'),
    ('335', 'E08000030', None, 'Walsall', 'West Midlands'),
    ('336', 'E08000031', None, 'Wolverhampton', 'West Midlands'),
    ('340', 'E08000011', None, 'Knowsley', 'North West'),
    ('341', 'E08000012', None, 'Liverpool', 'North West'),
    ('342', 'E08000013', None, 'St. Helens', 'North West'),
    ('343', 'E08000014', None, 'Sefton', 'North West'),
    ('344', 'E08000015', None, 'Wirral', 'North West'),
    ('350', 'E08000001', None, 'Bolton', 'North West'),
    ('351', 'E08000002', None, 'Bury', 'North West'),
    ('352', 'E08000003', None, 'Manchester', 'North West'),
    ('353', 'E08000004', None, 'Oldham', 'North West'),
    ('354', 'E08000005', None, 'Rochdale', 'North West'),
    ('355', 'E08000006', None, 'Salford', 'North West'),
    ('356', 'E08000007', None, 'Stockport', 'North West'),
    ('357', 'E08000008', None, 'Tameside', 'North West'),
    ('358', 'E08000009', None, 'Trafford', 'North West'),
    ('359', 'E08000010', None, 'Wigan', 'North West'),
    ('370', 'E08000038', 'E08000016', 'Barnsley', 'Yorkshire and The Humber'),
    ('371', 'E08000017', None, 'Doncaster', 'Yorkshire and The Humber'),
    ('372', 'E08000018', None, 'Rotherham', 'Yorkshire and The Humber'),
    ('373', 'E08000039', 'E08000019', 'Sheffield', 'Yorkshire and The Humber'),
    ('380', 'E08000032', None, 'Bradford', 'Yorkshire and The Humber'),
    ('381', 'E08000033', None, 'Calderdale', 'Yorkshire and The Humber'),
    ('382', 'E08000034', None, 'Kirklees', 'Yorkshire and The Humber'),
    ('383', 'E08000035', None, 'Leeds', 'Yorkshire and The Humber'),
    ('384', 'E08000036', None, 'Wakefield', 'Yorkshire and The Humber'),
    ('390', 'E08000037', None, 'Gateshead', 'North East'),
    ('391', 'E08000021', None, 'Newcastle upon Tyne', 'North East'),
    ('392', 'E08000022', None, 'North Tyneside', 'North East'),
    ('393', 'E08000023', None, 'South Tyneside', 'North East'),
    ('394', 'E08000024', None, 'Sunderland', 'North East'),
    ('420', 'E06000053', None, 'Isles of Scilly', 'South West'),
    ('800', 'E06000022', None, 'Bath and North East Somerset', 'South West'),
    ('801', 'E06000023', None, 'Bristol, City of', 'South West'),
    ('802', 'E06000024', None, 'North Somerset', 'South West'),
    ('803', 'E06000025', None, 'South Gloucestershire', 'South West'),
    ('805', 'E06000001', None, 'Hartlepool', 'North East'),
    ('806', 'E06000002', None, 'Middlesbrough', 'North East'),
    ('807', 'E06000003', None, 'Redcar and Cleveland', 'North East'),
    ('808', 'E06000004', None, 'Stockton-on-Tees', 'North East'),
    ('810', 'E06000010', None, 'Kingston upon Hull, City of', 'Yorkshire and The Humber'),
    ('811', 'E06000011', None, 'East Riding of Yorkshire', 'Yorkshire and The Humber'),
    ('812', 'E06000012', None, 'North East Lincolnshire', 'Yorkshire and The Humber'),
    ('813', 'E06000013', None, 'North Lincolnshire', 'Yorkshire and The Humber'),
    ('815', 'E06000065', None, 'North Yorkshire', 'Yorkshire and The Humber'),
    ('816', 'E06000014', None, 'York', 'Yorkshire and The Humber'),
    ('821', 'E06000032', None, 'Luton', 'East of England'),
    ('822', 'E06000055', None, 'Bedford', 'East of England'),
    ('823', 'E06000056', None, 'Central Bedfordshire', 'East of England'),
    ('825', 'E06000060', None, 'Buckinghamshire', 'South East'),
    ('826', 'E06000042', None, 'Milton Keynes', 'South East'),
    ('830', 'E10000007', None, 'Derbyshire', 'East Midlands'),
    ('831', 'E06000015', None, 'Derby', 'East Midlands'),
    ('838', 'E06000059', None, 'Dorset', 'South West'),
    ('839', 'E06000058', None, 'Bournemouth, Christchurch and Poole', 'South West'),
    ('840', 'E06000047', None, 'County Durham', 'North East'),
    ('841', 'E06000005', None, 'Darlington', 'North East'),
    ('845', 'E10000011', None, 'East Sussex', 'South East'),
    ('846', 'E06000043', None, 'Brighton and Hove', 'South East'),
    ('850', 'E10000014', None, 'Hampshire', 'South East'),
    ('851', 'E06000044', None, 'Portsmouth', 'South East'),
    ('852', 'E06000045', None, 'Southampton', 'South East'),
    ('855', 'E10000018', None, 'Leicestershire', 'East Midlands'),
    ('856', 'E06000016', None, 'Leicester', 'East Midlands'),
    ('857', 'E06000017', None, 'Rutland', 'East Midlands'),
    ('860', 'E10000028', None, 'Staffordshire', 'West Midlands'),
    ('861', 'E06000021', None, 'Stoke-on-Trent', 'West Midlands'),
    ('865', 'E06000054', None, 'Wiltshire', 'South West'),
    ('866', 'E06000030', None, 'Swindon', 'South West'),
    ('867', 'E06000036', None, 'Bracknell Forest', 'South East'),
    ('868', 'E06000040', None, 'Windsor and Maidenhead', 'South East'),
    ('869', 'E06000037', None, 'West Berkshire', 'South East'),
    ('870', 'E06000038', None, 'Reading', 'South East'),
    ('871', 'E06000039', None, 'Slough', 'South East'),
    ('872', 'E06000041', None, 'Wokingham', 'South East'),
    ('873', 'E10000003', None, 'Cambridgeshire', 'East of England'),
    ('874', 'E06000031', None, 'Peterborough', 'East of England'),
    ('876', 'E06000006', None, 'Halton', 'North West'),
    ('877', 'E06000007', None, 'Warrington', 'North West'),
    ('878', 'E10000008', None, 'Devon', 'South West'),
    ('879', 'E06000026', None, 'Plymouth', 'South West'),
    ('880', 'E06000027', None, 'Torbay', 'South West'),
    ('881', 'E10000012', None, 'Essex', 'East of England'),
    ('882', 'E06000033', None, 'Southend-on-Sea', 'East of England'),
    ('883', 'E06000034', None, 'Thurrock', 'East of England'),
    ('884', 'E06000019', None, 'Herefordshire, County of', 'West Midlands'),
    ('885', 'E10000034', None, 'Worcestershire', 'West Midlands'),
    ('886', 'E10000016', None, 'Kent', 'South East'),
    ('887', 'E06000035', None, 'Medway', 'South East'),
    ('888', 'E10000017', None, 'Lancashire', 'North West'),
    ('889', 'E06000008', None, 'Blackburn with Darwen', 'North West'),
    ('890', 'E06000009', None, 'Blackpool', 'North West'),
    ('891', 'E10000024', None, 'Nottinghamshire', 'East Midlands'),
    ('892', 'E06000018', None, 'Nottingham', 'East Midlands'),
    ('893', 'E06000051', None, 'Shropshire', 'West Midlands'),
    ('894', 'E06000020', None, 'Telford and Wrekin', 'West Midlands'),
    ('895', 'E06000049', None, 'Cheshire East', 'North West'),
    ('896', 'E06000050', None, 'Cheshire West and Chester', 'North West'),
    ('908', 'E06000052', None, 'Cornwall', 'South West'),
    ('916', 'E10000013', None, 'Gloucestershire', 'South West'),
    ('919', 'E10000015', None, 'Hertfordshire', 'East of England'),
    ('921', 'E06000046', None, 'Isle of Wight', 'South East'),
    ('925', 'E10000019', None, 'Lincolnshire', 'East Midlands'),
    ('926', 'E10000020', None, 'Norfolk', 'East of England'),
    ('929', 'E06000057', None, 'Northumberland', 'North East'),
    ('931', 'E10000025', None, 'Oxfordshire', 'South East'),
    ('933', 'E06000066', None, 'Somerset', 'South West'),
    ('935', 'E10000029', None, 'Suffolk', 'East of England'),
    ('936', 'E10000030', None, 'Surrey', 'South East'),
    ('937', 'E10000031', None, 'Warwickshire', 'West Midlands'),
    ('938', 'E10000032', None, 'West Sussex', 'South East'),
    ('940', 'E06000061', None, 'North Northamptonshire', 'East Midlands'),
    ('941', 'E06000062', None, 'West Northamptonshire', 'East Midlands'),
    ('942', 'E06000063', None, 'Cumberland', 'North West'),
    ('943', 'E06000064', None, 'Westmorland and Furness', 'North West'),
]

PROGRAMMES = [
    {
        "code": "npq-senco",
        "name": "SENCO National Professional Qualification",
        "description": (
            "The leadership-level NPQ for special educational needs coordinators, "
            "mandatory for new SENCOs in schools from 1 September 2024."
        ),
        "eligible_setting_kinds": ["school", "maintained-nursery", "16-19"],
        "places_per_setting": None,
        "commitment_years": None,
        "milestones": [
            ("started", "Started", 0),
            ("retained-1", "Retained (first)", 183),
            ("retained-2", "Retained (second)", 365),
            ("completed", "Completed", 640),
        ],
        "targets": [],
    },
    {
        "code": "ey-senco-l3",
        "name": "Level 3 early years SENCo qualification",
        "description": (
            "An accredited Level 3 qualification for early years SENCos in group-based "
            "settings and childminders: about 4 months online, with mentoring and an e-portfolio."
        ),
        "eligible_setting_kinds": ["childminder", "group-based"],
        "places_per_setting": 2,
        "commitment_years": None,
        "milestones": [
            ("started", "Started", 0),
            ("mid-point", "Mid-point review", 60),
            ("portfolio-submitted", "Portfolio submitted", 105),
            ("completed", "Completed", 125),
        ],
        "targets": [
            (5000, date(2023, 3, 2), "SEND and AP Improvement Plan: up to 5,000 funded places."),
        ],
    },
    {
        "code": "ep-doctorate",
        "name": "Educational psychologist doctoral training",
        "description": (
            "A 3-year professional doctorate in educational psychology, followed by a "
            "commitment to work in an English local authority."
        ),
        "eligible_setting_kinds": [],
        "places_per_setting": None,
        "commitment_years": 2,
        "milestones": [
            ("year-1", "Year 1", 0),
            ("year-2", "Year 2", 365),
            ("year-3", "Year 3 (qualified)", 1095),
        ],
        "targets": [
            (400, date(2023, 3, 2), "Two further cohorts starting 2024 and 2025, about 200 trainees each."),
        ],
    },
]


def _tables(bind) -> dict[str, sa.Table]:
    meta = sa.MetaData()
    names = ("regions", "local_authorities", "programmes", "milestones", "programme_targets")
    return {name: sa.Table(name, meta, autoload_with=bind) for name in names}


def upgrade():
    """Load the reference data, leaving any of it already there (from a downgrade that kept
    rows others refer to) as it is."""
    bind = op.get_bind()
    t = _tables(bind)
    regions, las, programmes = t["regions"], t["local_authorities"], t["programmes"]

    region_id = dict(bind.execute(sa.select(regions.c.name, regions.c.id)).all())
    for name in REGIONS:
        if name not in region_id:
            region_id[name] = bind.execute(
                regions.insert().values(name=name).returning(regions.c.id)
            ).scalar_one()
    known_las = set(bind.scalars(sa.select(las.c.la_code)))
    new_las = [
        {
            "la_code": la_code,
            "ons_code": ons_code,
            "former_ons_code": former,
            "name": name,
            "region_id": region_id[region],
        }
        for la_code, ons_code, former, name, region in LOCAL_AUTHORITIES
        if la_code not in known_las
    ]
    if new_las:
        op.bulk_insert(las, new_las)
    known_programmes = set(bind.scalars(sa.select(programmes.c.code)))
    now = datetime.now(timezone.utc)
    for programme in PROGRAMMES:
        if programme["code"] in known_programmes:
            continue
        programme_id = bind.execute(
            programmes.insert()
            .values(
                code=programme["code"],
                name=programme["name"],
                description=programme["description"],
                eligible_setting_kinds=programme["eligible_setting_kinds"],
                places_per_setting=programme["places_per_setting"],
                commitment_years=programme["commitment_years"],
                ledger_seq=0,
            )
            .returning(programmes.c.id)
        ).scalar_one()
        op.bulk_insert(
            t["milestones"],
            [
                {
                    "programme_id": programme_id,
                    "code": code,
                    "name": name,
                    "position": position,
                    "due_after_days": days,
                }
                for position, (code, name, days) in enumerate(programme["milestones"], 1)
            ],
        )
        op.bulk_insert(
            t["programme_targets"],
            [
                {
                    "programme_id": programme_id,
                    "places": places,
                    "effective_on": effective_on,
                    "note": note,
                    "created_dt": now,
                }
                for places, effective_on, note in programme["targets"]
            ],
        )


def _delete_unless_referred_to(bind, table: sa.Table, column: str, values) -> None:
    """Delete each row of ``table`` whose ``column`` holds one of ``values``, unless other
    rows refer to it."""
    for value in values:
        savepoint = bind.begin_nested()
        try:
            bind.execute(table.delete().where(table.c[column] == value))
        except sa.exc.IntegrityError:
            savepoint.rollback()
        else:
            savepoint.commit()


def downgrade():
    """Take out the reference data this revision loaded, and nothing anyone else wrote.

    The targets DfE set since, and every row something still refers to (a programme with
    cohorts, a local authority with settings), stay: going on down to an empty database,
    0001 drops the tables with them in.
    """
    bind = op.get_bind()
    t = _tables(bind)
    programmes, targets = t["programmes"], t["programme_targets"]
    for programme in PROGRAMMES:
        programme_id = sa.select(programmes.c.id).where(programmes.c.code == programme["code"])
        for places, effective_on, note in programme["targets"]:
            bind.execute(
                targets.delete().where(
                    targets.c.programme_id == programme_id.scalar_subquery(),
                    targets.c.places == places,
                    targets.c.effective_on == effective_on,
                    targets.c.note == note,
                    targets.c.created_by_id.is_(None),
                )
            )
    codes = [p["code"] for p in PROGRAMMES]
    milestones = t["milestones"]
    for milestone_id in bind.scalars(
        sa.select(milestones.c.id)
        .join(programmes, milestones.c.programme_id == programmes.c.id)
        .where(programmes.c.code.in_(codes))
    ).all():
        _delete_unless_referred_to(bind, milestones, "id", [milestone_id])
    _delete_unless_referred_to(bind, programmes, "code", codes)
    las = [la[0] for la in LOCAL_AUTHORITIES]
    _delete_unless_referred_to(bind, t["local_authorities"], "la_code", las)
    _delete_unless_referred_to(bind, t["regions"], "name", REGIONS)

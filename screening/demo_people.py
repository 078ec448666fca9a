"""Who and what for `load_demo`: the Allier site of the CRCDC Auvergne-Rhône-Alpes, its people, the women
and the plan of exams to build.

Organisation rows (centre, reading sites, practices, users, memberships, reader profiles) have no
service, so they are created with the ORM here. Exams are built through the services by screening.demo.
All names are invented; RPPS and NIR numbers only have a valid format and key.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password

from readings.models import ReaderProfile
from screening.models import (
    CentreRole,
    Practice,
    PracticeMembership,
    PracticeRole,
    ReadingCentre,
    ReadingSite,
    User,
)

CENTRE_CODE = "ARA-03"
CENTRE_NAME = "CRCDC Auvergne-Rhône-Alpes — site de l'Allier"
DEMO_PASSWORD = "demo-l2-2026"

# (code, name, town)
SITES = (
    ("ALLIER-VICHY", "Site de lecture de Vichy", "Vichy"),
    ("ALLIER-MOULINS", "Site de lecture de Moulins", "Moulins"),
    ("ALLIER-MONTLUCON", "Site de lecture de Montluçon", "Montluçon"),
)


@dataclass(frozen=True)
class PracticeSpec:
    code: str
    name: str
    town: str
    dematerialised_on: dt.date | None  # None: films only (négatoscope)
    detector: str  # synth detector of the practice's mammography unit
    weight: float  # share of the demo exams
    accession_prefix: str
    # Where its women live: (town, postal code).
    towns: tuple[tuple[str, str], ...] = ()


PRACTICES = (
    PracticeSpec(
        "VICHY-CEL", "Cabinet de radiologie des Célestins", "Vichy", dt.date(2022, 9, 5), "ge", 5.0, "CEL",
        (("Vichy", "03200"), ("Abrest", "03200"), ("Saint-Yorre", "03270"), ("Creuzier-le-Vieux", "03300")),
    ),
    PracticeSpec(
        "CUSSET-GRV", "Centre d'imagerie médicale de Cusset", "Cusset", dt.date(2023, 3, 13), "ge", 2.5, "CUS",
        (("Cusset", "03300"), ("Le Mayet-de-Montagne", "03250"), ("Saint-Germain-des-Fossés", "03260")),
    ),
    PracticeSpec(
        "BELLERIVE-RIV", "Imagerie des Rives d'Allier", "Bellerive-sur-Allier", dt.date(2023, 11, 6), "ge", 2.0,
        "BRV", (("Bellerive-sur-Allier", "03700"), ("Brugheas", "03700"), ("Vichy", "03200")),
    ),
    PracticeSpec(
        "MOULINS-AF", "Radiologie Anatole-France", "Moulins", dt.date(2022, 6, 20), "ge", 3.0, "MAF",
        (("Moulins", "03000"), ("Avermes", "03000"), ("Souvigny", "03210")),
    ),
    PracticeSpec(
        "YZEURE-SEN", "Centre de sénologie d'Yzeure", "Yzeure", dt.date(2024, 2, 1), "ge", 2.0, "YZE",
        (("Yzeure", "03400"), ("Bourbon-l'Archambault", "03160"), ("Moulins", "03000")),
    ),
    PracticeSpec(
        "MONTLU-PARC", "Radiologie du Parc", "Montluçon", dt.date(2023, 5, 15), "hologic", 1.0, "PRC",
        (("Montluçon", "03100"), ("Domérat", "03410"), ("Désertines", "03630"), ("Néris-les-Bains", "03310")),
    ),
    PracticeSpec(
        "SPS-SIOULE", "Imagerie du Val de Sioule", "Saint-Pourçain-sur-Sioule", dt.date(2024, 9, 2), "ge", 1.5,
        "SPS", (("Saint-Pourçain-sur-Sioule", "03500"), ("Varennes-sur-Allier", "03150")),
    ),
    PracticeSpec(
        "GANNAT-RAD", "Cabinet de radiologie de Gannat", "Gannat", dt.date(2025, 1, 6), "ge", 1.5, "GAN",
        (("Gannat", "03800"), ("Ébreuil", "03450")),
    ),
    PracticeSpec(
        "COMMENTRY-RAD", "Cabinet de radiologie de Commentry", "Commentry", None, "ge", 1.0, "COM",
        (("Commentry", "03600"), ("Montmarault", "03390")),
    ),
    PracticeSpec(
        "LAPALISSE-RAD", "Radiologie du Bourbonnais", "Lapalisse", None, "ge", 1.0, "LAP",
        (("Lapalisse", "03120"), ("Dompierre-sur-Besbre", "03290"), ("Le Donjon", "03130")),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class RadiologistSpec:
    username: str
    first_name: str
    last_name: str
    l1_practices: tuple[str, ...] = ()
    reader_site: str | None = None  # L2 reading site code
    pseudonym: str = ""


RADIOLOGISTS = (
    RadiologistSpec("dr.martin", "Claire", "Martin", ("VICHY-CEL",)),
    RadiologistSpec("dr.bernard", "Philippe", "Bernard", ("YZEURE-SEN",), "ALLIER-MOULINS", "Lecteur M1"),
    RadiologistSpec("dr.dubois", "Anne", "Dubois", ("VICHY-CEL",), "ALLIER-VICHY", "Lecteur V1"),
    RadiologistSpec("dr.lefebvre", "Marc", "Lefebvre", ("CUSSET-GRV",), "ALLIER-VICHY", "Lecteur V2"),
    RadiologistSpec("dr.moreau", "Isabelle", "Moreau", (), "ALLIER-VICHY", "Lecteur V3"),
    RadiologistSpec("dr.girard", "Laurent", "Girard", ("MOULINS-AF",), "ALLIER-MOULINS", "Lecteur M2"),
    RadiologistSpec("dr.roux", "Sophie", "Roux", (), "ALLIER-MOULINS", "Lecteur M3"),
    RadiologistSpec(
        "dr.fournier", "Jean-Luc", "Fournier", ("MONTLU-PARC",), "ALLIER-MONTLUCON", "Lecteur L1"
    ),
    RadiologistSpec("dr.chevalier", "Hélène", "Chevalier", (), "ALLIER-MONTLUCON", "Lecteur L2"),
    RadiologistSpec("dr.lambert", "Nicolas", "Lambert", ("CUSSET-GRV", "BELLERIVE-RIV")),
    RadiologistSpec("dr.faure", "Catherine", "Faure", ("MOULINS-AF", "YZEURE-SEN")),
    RadiologistSpec("dr.rousseau", "Thierry", "Rousseau", ("MONTLU-PARC", "COMMENTRY-RAD")),
    RadiologistSpec("dr.blanc", "Valérie", "Blanc", ("SPS-SIOULE", "GANNAT-RAD")),
    RadiologistSpec("dr.guerin", "Olivier", "Guérin", ("LAPALISSE-RAD", "BELLERIVE-RIV")),
    RadiologistSpec("dr.perrin", "Christine", "Perrin", ("GANNAT-RAD", "SPS-SIOULE", "VICHY-CEL")),
)

# (username, first name, last name, practice code): one secretary or radiographer per practice.
STAFF = (
    ("staff.vichy", "Laetitia", "Morel", "VICHY-CEL"),
    ("staff.cusset", "Audrey", "Chassaing", "CUSSET-GRV"),
    ("staff.bellerive", "Karine", "Bardin", "BELLERIVE-RIV"),
    ("staff.moulins", "Céline", "Tixier", "MOULINS-AF"),
    ("staff.yzeure", "Émilie", "Lafont", "YZEURE-SEN"),
    ("staff.montlucon", "Julien", "Aubignat", "MONTLU-PARC"),
    ("staff.saintpourcain", "Sandrine", "Pinon", "SPS-SIOULE"),
    ("staff.gannat", "Marion", "Vialle", "GANNAT-RAD"),
    ("staff.commentry", "Nadia", "Rochette", "COMMENTRY-RAD"),
    ("staff.lapalisse", "Élodie", "Fayolle", "LAPALISSE-RAD"),
)

# (username, first name, last name, other fields): the centre's own accounts.
CENTRE_USERS = (
    ("coord.allier", "Sylvie", "Chabrol", {"centre_role": CentreRole.COORDINATOR, "is_staff": True}),
    ("dr.morel", "Françoise", "Morel", {"centre_role": CentreRole.PHYSICIAN, "title": "Dr", "rpps": "10003810453"}),
    ("admin", "Administrateur", "Démo", {"centre_role": CentreRole.ADMINISTRATOR, "is_staff": True, "is_superuser": True}),
)  # fmt: skip
# (username, role label) printed at the end of the load.
ACCOUNTS = (
    ("staff.vichy", "Personnel du cabinet — Cabinet de radiologie des Célestins (Vichy)"),
    ("dr.martin", "Radiologue premier lecteur (L1) — Célestins, Vichy"),
    ("dr.bernard", "Second lecteur (L2), site de Moulins ; aussi L1 à Yzeure (R-COI-1)"),
    ("coord.allier", "Secrétariat / coordination du centre"),
    ("admin", "Administrateur (superutilisateur)"),
)


@dataclass
class Organisation:
    centre: ReadingCentre
    sites: dict[str, ReadingSite] = field(default_factory=dict)
    practices: dict[str, Practice] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    staff: dict[str, User] = field(default_factory=dict)  # practice code → staff user
    l1: dict[str, list[User]] = field(default_factory=dict)  # practice code → L1 radiologists

    @property
    def coordinator(self) -> User:
        return self.users["coord.allier"]


def rpps_number(index: int) -> str:
    """An 11-digit RPPS-shaped number: 10 + 8 digits + a Luhn key."""
    payload = f"10{(38_104_507 + index * 7_919) % 10**8:08d}"
    total = 0
    for position, digit in enumerate(reversed(payload)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return payload + str((10 - total % 10) % 10)


def _user(username: str, password_hash: str, **fields) -> User:
    return User.objects.create(
        username=username, email=f"{username}@demo.l2.invalid", password=password_hash, **fields
    )


def organisation_create() -> Organisation:
    """Centre, 3 reading sites, 10 practices, 15 radiologists (8 L2 readers), staff and centre accounts."""
    password_hash = make_password(DEMO_PASSWORD)  # hashed once: the demo accounts share it
    org = Organisation(centre=ReadingCentre.objects.create(code=CENTRE_CODE, name=CENTRE_NAME))
    for code, name, town in SITES:
        org.sites[code] = ReadingSite.objects.create(centre=org.centre, code=code, name=name, town=town)
    for spec in PRACTICES:
        org.practices[spec.code] = Practice.objects.create(
            centre=org.centre,
            code=spec.code,
            name=spec.name,
            town=spec.town,
            dematerialised_on=spec.dematerialised_on,
        )
        org.l1[spec.code] = []
    for username, first_name, last_name, extra in CENTRE_USERS:
        org.users[username] = _user(
            username, password_hash, first_name=first_name, last_name=last_name, **extra
        )
    for index, spec in enumerate(RADIOLOGISTS):
        user = _user(
            spec.username,
            password_hash,
            title="Dr",
            first_name=spec.first_name,
            last_name=spec.last_name,
            rpps=rpps_number(index),
        )
        org.users[spec.username] = user
        for code in spec.l1_practices:
            PracticeMembership.objects.create(
                user=user, practice=org.practices[code], role=PracticeRole.L1_RADIOLOGIST
            )
            org.l1[code].append(user)
        if spec.reader_site:
            ReaderProfile.objects.create(
                user=user,
                site=org.sites[spec.reader_site],
                l2_trained_on=dt.date(2019 + index % 5, 3 + index % 7, 10 + index),
                pseudonym=spec.pseudonym,
            )
    for username, first_name, last_name, code in STAFF:
        user = _user(username, password_hash, first_name=first_name, last_name=last_name)
        PracticeMembership.objects.create(user=user, practice=org.practices[code], role=PracticeRole.STAFF)
        org.users[username] = user
        org.staff[code] = user
    return org


# --- the women -------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Martine", "Monique", "Sylvie", "Catherine", "Isabelle", "Nathalie", "Christine", "Françoise", "Brigitte",
    "Véronique", "Chantal", "Patricia", "Nicole", "Dominique", "Annie", "Jacqueline", "Marie-Christine",
    "Évelyne", "Danielle", "Corinne", "Valérie", "Pascale", "Sandrine", "Laurence", "Josiane", "Michèle",
    "Joëlle", "Marie-Claude", "Hélène", "Agnès", "Colette", "Maryse", "Odile", "Béatrice", "Muriel",
    "Florence", "Anne-Marie", "Ghislaine", "Claudine", "Bernadette", "Geneviève", "Mireille", "Élisabeth",
)  # fmt: skip
LAST_NAMES = (
    "Aubert", "Bérard", "Bonnet", "Bourdier", "Chapuis", "Charbonnier", "Dumas", "Dufour", "Fradin", "Gaillard",
    "Giraud", "Jarrige", "Laroche", "Mercier", "Moulin", "Perret", "Ravel", "Roussel", "Taillandier", "Vernet",
    "Ménard", "Lefèvre", "Thévenet", "Grégoire", "Sénéchal", "Pérol", "Débordes", "Gauthier", "Auclair",
    "Barret", "Besson", "Boudol", "Brunet", "Chauvet", "Cluzel", "Delorme", "Ducros", "Guillaumin", "Jacquet",
    "Lamy", "Magnier", "Morand", "Pommier", "Renaud", "Rouchon", "Simonet", "Vallet", "Dechaume", "Couturier",
    "Desbordes", "Lebrun", "Peronnet", "Bouchardon", "Augier", "Labonne", "Raynaud", "Chevrier", "Malterre",
    "Tournadre", "Bidet", "Carré", "Favier", "Gonnet", "Lépine", "Mazeron", "Pradier", "Sauvat", "Villard",
    "Duchassaing", "Riboulet", "Texier", "Burlot", "Rondet", "Marcheix", "Bourrat", "Dussap", "Gilbert",
)  # fmt: skip
STREETS = (
    "rue de la République", "avenue de Gramont", "rue des Écoles", "chemin des Vignes", "place de l'Église",
    "rue du Commerce", "allée des Tilleuls", "rue Jean-Jaurès", "rue Pasteur", "impasse des Acacias",
    "route de Lyon", "rue d'Allier", "boulevard de Courtais", "rue des Tanneries", "rue du 4-Septembre",
)  # fmt: skip
GPS = (
    "Dr Antoine Bréchard", "Dr Hélène Vigier", "Dr Jérôme Maupoil", "Dr Nadine Achard", "Dr Paul Tardivat",
    "Dr Sophie Garnier", "Dr Bruno Lavergne", "Dr Agathe Pouzadoux", "Dr Rémi Champomier", "Dr Lucie Bost",
)  # fmt: skip


@dataclass(frozen=True)
class Identity:
    programme_id: str
    last_name: str
    first_name: str
    birth_date: dt.date
    extra: dict

    @property
    def dicom_name(self) -> str:
        return f"{self.last_name.upper()}^{self.first_name}"


def _nir(birth_date: dt.date, rng: random.Random) -> str:
    body = f"2{birth_date:%y%m}03{rng.randrange(1, 330):03d}{rng.randrange(1, 999):03d}"
    return body + f"{97 - int(body) % 97:02d}"


def identity_make(
    *, index: int, rng: random.Random, practice: PracticeSpec, on: dt.date, min_age: int = 50
) -> Identity:
    """A woman aged min_age..74 on `on`, living near the practice, with a programme number."""
    age = rng.randint(min_age, 74)
    birth_date = dt.date(on.year - age - 1, on.month, min(on.day, 28)) + dt.timedelta(
        days=rng.randint(1, 364)
    )
    last_name = LAST_NAMES[index % len(LAST_NAMES)]
    married = rng.random() < 0.3
    town, postal_code = rng.choice(practice.towns)
    extra = {
        "birth_name": rng.choice(LAST_NAMES) if married else "",
        "nir": _nir(birth_date, rng),
        "address": f"{rng.randint(1, 48)} {rng.choice(STREETS)}",
        "postal_code": postal_code,
        "town": town,
        "gp_name": rng.choice(GPS),
    }
    return Identity(
        programme_id=f"03-{on.year}-{1000 + index * 37 + rng.randint(0, 30):06d}",
        last_name=last_name,
        first_name=FIRST_NAMES[(index * 7 + rng.randrange(3)) % len(FIRST_NAMES)],
        birth_date=birth_date,
        extra=extra,
    )


# --- the exams: what to build (screening.demo builds them through the services) ---------------------

DEFAULT_EXAMS = 64
MIN_EXAMS = 4
BERNARD = "dr.bernard"
SLOTS = ("RCC", "LCC", "RMLO", "LMLO")

# Exam kinds of the plan with their count in the default set of 64 (PRIOR: an exam of the same woman two
# years earlier, counted in the 64), and how many days before today their mammograms were taken
# (cycled). NEGATIVE fills the remainder.
# Films are ≈ 20 % of the exams: Allier is ≈ 75 % dematerialised (QI-12).
BASE_COUNTS = {
    "DRAFT": 2, "INCOMPLETE": 1, "QUEUED": 2, "ASSIGNED_BERNARD": 6, "ASSIGNED": 4, "IN_READING": 2,
    "POSITIVE": 3, "CTI": 2, "L1_POSITIVE": 3, "FILM_ASSIGNED": 4, "FILM_NEGATIVE": 8, "PRIOR": 6,
}  # fmt: skip
ESSENTIAL = ("DRAFT", "ASSIGNED_BERNARD", "L1_POSITIVE")  # kept even in a tiny set (the test's 12)
DAYS_AGO = {
    "DRAFT": (0, 1), "INCOMPLETE": (4,), "QUEUED": (17, 5), "ASSIGNED_BERNARD": (17, 12, 11, 8, 5, 3, 2, 1),
    "ASSIGNED": (16, 9, 6, 2), "IN_READING": (13, 4), "POSITIVE": (21, 9, 6), "CTI": (19, 7),
    "L1_POSITIVE": (24, 11, 3), "FILM_ASSIGNED": (14, 10, 8, 6), "FILM_NEGATIVE": (29, 27, 24, 21, 18, 16, 13, 12),
    "NEGATIVE": (30, 28, 26, 25, 23, 22, 20, 19, 18, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3),
}  # fmt: skip
PRIOR_PREFERENCE = ("ASSIGNED_BERNARD", "POSITIVE", "IN_READING", "NEGATIVE")
FILM_KINDS = ("FILM_ASSIGNED", "FILM_NEGATIVE")
NO_IMAGE_KINDS = (*FILM_KINDS, "L1_POSITIVE")


@dataclass
class ExamSpec:
    kind: str
    practice: PracticeSpec
    mammogram_date: dt.date
    index: int
    prior_date: dt.date | None = None
    seed: int = 0
    prior_seed: int = 0


def _weekday(day: dt.date) -> dt.date:
    while day.weekday() >= 5:  # screening units work on weekdays
        day -= dt.timedelta(days=1)
    return day


def plan_counts(total: int) -> dict[str, int]:
    """Scale BASE_COUNTS to `total` exams (priors included); NEGATIVE takes what is left (≥ 1)."""
    scale = total / DEFAULT_EXAMS
    counts = {k: max(1 if k in ESSENTIAL else 0, round(n * scale)) for k, n in BASE_COUNTS.items()}
    while sum(counts.values()) > total - 1:
        kind = max((k for k in counts if counts[k] > (1 if k in ESSENTIAL else 0)), key=counts.get)
        counts[kind] -= 1
    counts["NEGATIVE"] = total - sum(counts.values())
    return counts


def plan_exams(total: int, rng: random.Random, today: dt.date) -> list[ExamSpec]:
    """The exams to build, oldest mammogram first, with practices, dates, priors and image seeds."""
    counts = plan_counts(total)
    console = [p for p in PRACTICES if p.dematerialised_on]
    film = [p for p in PRACTICES if not p.dematerialised_on]
    vichy = next(p for p in PRACTICES if p.code == "VICHY-CEL")
    specs: list[ExamSpec] = []
    for kind, count in counts.items():
        if kind == "PRIOR":
            continue
        for i in range(count):
            if kind in ("DRAFT", "INCOMPLETE"):
                practice = vichy  # what staff.vichy and dr.martin see first
            elif kind in FILM_KINDS:
                practice = film[i % len(film)]
            else:
                practice = rng.choices(console, weights=[p.weight for p in console])[0]
            days = DAYS_AGO[kind][i % len(DAYS_AGO[kind])] + i // len(DAYS_AGO[kind])
            specs.append(ExamSpec(kind, practice, _weekday(today - dt.timedelta(days=days)), 0))
    with_prior = sorted(
        (s for s in specs if s.kind in PRIOR_PREFERENCE), key=lambda s: PRIOR_PREFERENCE.index(s.kind)
    )[: counts["PRIOR"]]
    for spec in with_prior:
        spec.prior_date = _weekday(spec.mammogram_date - dt.timedelta(days=730 + rng.randint(-20, 20)))
    specs.sort(key=lambda s: (s.mammogram_date, s.kind))
    ge_seeds = max(2, min(12, len(specs) // 4))
    for index, spec in enumerate(specs):
        spec.index = index
        spec.seed = index % ge_seeds if spec.practice.detector == "ge" else 100 + index % 2
        spec.prior_seed = (spec.seed + 1) % ge_seeds if spec.seed < 100 else 100 + (index + 1) % 2
    return specs

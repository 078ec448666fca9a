"""Letters (§7): the centre's identity on the letterhead, default subjects, the documented template variables and
the sample data of the preview. Default bodies live in templates/letters/defaults/<kind>.html."""

import datetime as dt

from django.conf import settings
from django.template.loader import get_template

from screening.models import LetterKind, RecipientKind
from screening.services.letters_schema import breast_schema_svg

K = LetterKind
R = RecipientKind

# Overridable with settings.LETTERS_CENTRE (same keys). Letters are signed by the CRCDC (R-ANON-1).
CENTRE_DEFAULTS: dict[str, str] = {
    "nom": "CRCDC Auvergne-Rhône-Alpes",
    "nom_long": "Centre régional de coordination des dépistages des cancers",
    "site": "Site de l'Allier",
    "adresse": "",  # street line, e.g. "12 rue …"
    "code_postal": "03200",
    "ville": "Vichy",
    "telephone": "",
    "courriel": "",
    "signature": "Le médecin coordinateur",
    "signataire": "",  # the coordinating physician's name, printed under the signature when set
}


def centre_identity() -> dict[str, str]:
    return {**CENTRE_DEFAULTS, **getattr(settings, "LETTERS_CENTRE", {})}


DEFAULT_SUBJECTS: dict[str, str] = {
    K.NEG_F: "Résultat de votre mammographie de dépistage",
    K.NEG_M: "Résultat de la mammographie de dépistage de votre patiente",
    K.POS_M: "Anomalie en seconde lecture — mammographie de votre patiente",
    K.POS_F: "Votre mammographie de dépistage : examens complémentaires",
    K.POS_R: "Anomalie en seconde lecture — bilan de diagnostic différé",
    K.CTI_F: "Votre mammographie de dépistage : clichés à refaire",
    K.CTI_R: "Clichés techniquement insuffisants — reprise à réaliser",
    K.REM_CTI: "Relance : clichés à refaire",
    K.REM_FU: "Relance : résultat du bilan de diagnostic",
}

# Who gets each kind when the caller does not say (REM-FU: the caller always says, L1 first).
DEFAULT_RECIPIENTS: dict[str, tuple[str, ...]] = {
    K.NEG_F: (R.WOMAN,),
    K.POS_F: (R.WOMAN,),
    K.CTI_F: (R.WOMAN,),
    K.NEG_M: (R.GP, R.GYN),
    K.POS_M: (R.GP, R.GYN),
    K.POS_R: (R.PRACTICE,),
    K.CTI_R: (R.PRACTICE,),
    K.REM_CTI: (R.PRACTICE, R.WOMAN),
    K.REM_FU: (R.L1,),
}


def default_body(kind: str) -> str:
    return get_template(f"letters/defaults/{kind}.html").template.source


# The documented variables: the only names a template may use (validated on save). A dict is an object with
# these attributes; a one-item list is a list whose items have those attributes; a str is a plain value.
Schema = dict | list | str
VARIABLES: dict[str, Schema] = {
    "femme": {
        "civilite": "« Madame »",
        "prenom": "prénom",
        "nom": "nom d'usage, en majuscules",
        "nom_complet": "« Madame Sophie MARTIN »",
        "numero": "numéro de dépistage",
        "date_naissance": "date de naissance",
        "medecin": "médecin désigné par la femme (vide si aucun)",
    },
    "destinataire": {
        "nom": "nom du destinataire",
        "type": "« La femme », « Médecin traitant »…",
        "est_femme": "vrai si le courrier va à la femme",
        "est_medecin": "vrai pour le médecin traitant ou le gynécologue",
        "est_radiologue": "vrai pour le radiologue L1 ou son cabinet",
    },
    "examen": {
        "date": "date de la mammographie",
        "cabinet": "cabinet de radiologie",
        "ville": "ville du cabinet",
        "radiologue": "radiologue premier lecteur (L1)",
    },
    "anomalies": [
        {
            "sein": "« sein gauche »",
            "localisation": "quadrant ou union",
            "rayon": "rayon horaire (« 2 h »), vide si non précisé",
            "profondeur": "tiers antérieur, moyen ou postérieur",
            "type": "type de lésion",
            "taille": "taille (« 8 mm »), vide si non mesurée",
            "acr": "classement ACR",
            "resume": "une ligne : sein, localisation, type",
        }
    ],
    "examens_proposes": "examens proposés par la seconde lecture",
    "schema": "schéma des deux seins avec chaque anomalie numérotée (image)",
    "cti": [
        {
            "sein": "« sein droit »",
            "incidence": "incidence (face, oblique externe)",
            "motif": "motif technique",
            "action": "action demandée",
            "consignes": "consignes du second lecteur",
        }
    ],
    "courrier": {"date": "date du courrier", "date_limite": "à envoyer au plus tard le"},
    "delais": {
        "reprise": "date limite de la reprise (6 mois)",
        "prochaine_invitation": "mois de la prochaine invitation (« novembre 2028 »)",
    },
    "centre": {key: "coordonnées du centre" for key in CENTRE_DEFAULTS},
}


def variables_documented(schema: dict = VARIABLES, prefix: str = "") -> list[tuple[str, str]]:
    """(name, description) pairs for the editor's help panel."""
    rows: list[tuple[str, str]] = []
    for name, value in schema.items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            rows += variables_documented(value, f"{path}.")
        elif isinstance(value, list):
            rows.append((path, "liste : {% for x in " + path + " %}…{% endfor %}"))
            rows += variables_documented(value[0], "x.")
        else:
            rows.append((path, value))
    return rows


def sample_context(*, today: dt.date) -> dict:
    """The preview's fictitious woman, exam and findings (no real data)."""
    return {
        "femme": {
            "civilite": "Madame",
            "prenom": "Sophie",
            "nom": "EXEMPLE",
            "nom_complet": "Madame Sophie EXEMPLE",
            "numero": "03-2026-000000",
            "date_naissance": dt.date(1962, 5, 14),
            "medecin": "Dr Jean Exemple",
        },
        "examen": {
            "date": today - dt.timedelta(days=6),
            "cabinet": "Cabinet de radiologie des Thermes",
            "ville": "Vichy",
            "radiologue": "Dr Claire Exemple",
        },
        "anomalies": [
            {
                "sein": "sein gauche",
                "localisation": "quadrant supéro-externe",
                "rayon": "2 h",
                "profondeur": "tiers moyen",
                "type": "microcalcifications",
                "taille": "8 mm",
                "acr": "4",
                "resume": "sein gauche, quadrant supéro-externe (2 h), tiers moyen : microcalcifications, 8 mm",
            }
        ],
        "examens_proposes": "agrandissements, échographie",
        "schema": breast_schema_svg([{"side": "G", "quadrant": "QSE", "clock": 2}]),
        "cti": [
            {
                "sein": "sein droit",
                "incidence": "oblique externe (MLO)",
                "motif": "positionnement / glande incomplètement dégagée",
                "action": "refaire l'incidence",
                "consignes": "dégager le sillon sous-mammaire",
            }
        ],
    }


SAMPLE_RECIPIENTS: dict[str, tuple[str, str]] = {
    R.WOMAN: ("Madame Sophie EXEMPLE", "12 rue des Thermes\n03200 VICHY"),
    R.GP: ("Dr Jean Exemple", "3 place de la République\n03200 VICHY"),
    R.GYN: ("Dr Jeanne Exemple", "8 avenue de Gramont\n03200 VICHY"),
    R.L1: ("Dr Claire Exemple", "Cabinet de radiologie des Thermes\n03200 VICHY"),
    R.PRACTICE: ("Cabinet de radiologie des Thermes", "À l'attention du Dr Claire Exemple\n03200 VICHY"),
}

"""Content checks for the shipped ``scenarios.yaml``: the 19 ruptures of the seed, their structure,
and hand-written news sentences that must (and must not) count as evidence for each rupture.

The sentences were written for these tests (realistic French news sentences, not copied from any
outlet). A "positive" must produce at least one evidence hit (watch, early sign or milestone) for
its rupture; a "near miss" shares vocabulary with the rupture but must produce no evidence hit for
it (the « école » in a crime story is not evidence of the school system's breakdown).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from signals.analyse import Analyser
from signals.config import Announcer, Milestone, Scenarios, load_scenarios
from signals.match import Ruleset, compile_ruleset
from signals.models import EVIDENCE_KINDS, Hit

SCENARIOS = Path(
    os.environ.get("SIGNALS_SCENARIOS_UNDER_TEST")
    or Path(__file__).resolve().parents[1] / "scenarios.yaml"
)

DEVELOPED = [
    "post-patrimonial",
    "ecole-en-rupture",
    "tous-intermittents",
    "difficultes-numeriques",
    "production-relocalisee",
    "secessions-territoriales",
    "my-data",
]
MICRO = [
    "neuro-inc",
    "places-tahrir-entreprises",
    "tente-quechua-travailleur",
    "apres-chute-reseaux",
    "du-calme",
    "aurore-contributeurs",
    "generations-chacun-pour-soi",
    "pas-a-un-ordinateur",
    "green-it-mort",
    "social-networks-health",
    "augmentation-humaine",
    "internet-1969-2013",
]
# The demo corpus targets these; they must survive any rewrite of the file.
STABLE_POST_PATRIMONIAL_IDS = {
    "pp-collaboratif-local",
    "pp-monnaies-alternatives",
    "pp-institutions",
    "pp-consommation-collaborative",
    "pp-economie-fonctionnalite",
    "pp-espaces-partages",
    "pp-doute-accaparement",
}

# rupture id -> (sentences that must be evidence, near misses that must not be)
SENTENCES: dict[str, tuple[list[str], list[str]]] = {
    "post-patrimonial": (
        [
            "À Bayonne, l'eusko, la monnaie locale du Pays basque, compte désormais plus de 3 000 utilisateurs.",
            "La mairie de Grenoble a présenté mardi un plan pour soutenir l'économie collaborative dans les quartiers.",
            "Les ventes de vêtements de seconde main sur Vinted ont encore progressé de 30 % l'an dernier.",
            "Un nouveau tiers-lieu avec jardin partagé et atelier de réparation a ouvert ses portes à Lille.",
        ],
        [
            "Le cambrioleur avait revendu les bijoux volés sur Leboncoin, selon les enquêteurs.",
            "La Banque centrale européenne a relevé ses taux pour défendre la monnaie unique.",
        ],
    ),
    "ecole-en-rupture": (
        [
            "Faute de remplaçants, des milliers d'heures de cours sont perdues et la pénurie d'enseignants "
            "touche désormais toutes les académies.",
            "Le nombre d'enfants en instruction en famille a doublé en cinq ans, selon le ministère.",
            "Face à la crise de l'école publique, les écoles hors contrat se multiplient en Île-de-France.",
            "Les MOOC des grandes universités attirent des centaines de milliers d'inscrits.",
        ],
        [
            "Un adolescent a été interpellé devant l'école après une bagarre qui a mal tourné.",
            # "Coursera" stems like « course »
            "La course contre la montre se poursuit pour retrouver l'enfant disparu près de l'école.",
            "Pendant le confinement, les parents ont dû faire l'école à la maison avec les moyens du bord.",
            # "démissions" stems like "demi"
            "Les trois millions et demi d'enseignants américains ont vu leur niveau de vie chuter en deux ans.",
        ],
    ),
    "tous-intermittents": (
        [
            "Les livreurs à vélo de Deliveroo réclament un statut de salarié.",
            "Le nombre de micro-entrepreneurs a dépassé les deux millions en France.",
            "De plus en plus de cadres passent par le portage salarial pour cumuler plusieurs missions.",
            "L'expérimentation du revenu universel en Finlande a livré ses premiers résultats.",
        ],
        [
            "Les intermittents du spectacle manifestent contre la réforme de l'assurance chômage.",
            "La société a été placée en redressement judiciaire et ses salariés en CDI seront reclassés.",
            # "InnoCentive" stems like « innocent »
            "Depuis son arrestation, l'acteur clame son innocence et se dit innocent.",
        ],
    ),
    "difficultes-numeriques": (
        [
            "Depuis la loi Travail, les salariés bénéficient d'un droit à la déconnexion en dehors des heures de bureau.",
            "L'UFC-Que Choisir a déposé une action de groupe contre Google pour sa gestion des données personnelles.",
            "Le syndrome du canal carpien et l'hyperconnexion sont désormais pointés par la médecine du travail.",
            "Le logiciel de paie Louvois a provoqué la colère des militaires, certains restant plusieurs mois sans solde.",
            "Après l'incendie d'un datacenter d'OVH à Strasbourg, des milliers de clients ont perdu leurs données "
            "dans le cloud.",
        ],
        [
            "Le spectacle a été annulé à cause d'une panne de courant dans la salle.",
            "Le tribunal a condamné l'éditeur du livre pour diffamation.",
            # "action de groupe" has the keys of "l'action du groupe" (a share price)
            "L'action du groupe de logiciels a dévissé de 17 % à la Bourse de Francfort.",
        ],
    ),
    "production-relocalisee": (
        [
            "Le fab lab de la ville propose désormais des imprimantes 3D et des découpeuses laser aux habitants.",
            "Le gouvernement veut accélérer la relocalisation de la production de médicaments en France.",
            "Le repair café du quartier a permis de réparer plus de 300 appareils cette année.",
            "La loi instaure un indice de réparabilité sur les smartphones et les lave-linge.",
        ],
        [
            "Les gendarmes ont saisi une arme imprimée en 3D chez un jeune homme de 22 ans.",
            # "Instructables" stems like « instruction »
            "Le juge d'instruction a terminé son enquête sur le dossier.",
            "La production de vin a chuté de 20 % en raison du gel.",
            "Une housse de protection a été fabriquée à la demande des taxis toulonnais.",
        ],
    ),
    "secessions-territoriales": (
        [
            "Dijon a confié à un consortium privé le pilotage de sa ville intelligente.",
            "Les habitants ont désormais une carte citoyenne pour accéder à la piscine, à la médiathèque et aux transports.",
            "La zone à faibles émissions interdira dès janvier l'accès du centre aux véhicules Crit'Air 3.",
            "Plusieurs villes moyennes offrent une prime pour attirer des télétravailleurs et des nomades numériques.",
        ],
        [
            "Le maire a inauguré la nouvelle médiathèque en présence des élus du territoire.",
            "La carte de résident lui a été refusée par la préfecture.",
            # "compte citoyen" has the keys of "comptes aux citoyens"
            "Le sénateur devra rendre des comptes aux citoyens de son département.",
        ],
    ),
    "my-data": (
        [
            "Grâce au RGPD, chaque client peut demander à sa banque une copie de toutes les données qui le concernent.",
            "L'open banking permet aux clients de partager leurs données bancaires avec des applications tierces.",
            "Le droit à la portabilité des données doit permettre de quitter un réseau social sans perdre ses contacts.",
            "Le mouvement Quantified Self séduit de plus en plus d'adeptes de l'automesure.",
        ],
        [
            "Les données de fréquentation des plages montrent une hausse de 10 % cet été.",
            "Le gardien a restitué les clés de l'appartement au propriétaire.",
            "Il n'a rien à cacher, a assuré le ministre devant les députés.",
        ],
    ),
    "neuro-inc": (
        [
            "Le gouvernement s'est doté d'une cellule de sciences comportementales pour concevoir des nudges.",
            "Neuralink a implanté sa première interface cerveau-machine chez un patient tétraplégique.",
            "Des marques testent le neuromarketing pour mesurer les émotions des consommateurs devant une publicité.",
        ],
        [
            "Le patient a passé une IRM après sa chute dans l'escalier.",
            "Le neurologue a expliqué le fonctionnement du cerveau aux élèves de CM2.",
            "Au lycée hôtelier, les élèves apprennent à manipuler les jetons et à distribuer les cartes.",
        ],
    ),
    "places-tahrir-entreprises": (
        [
            "Une lanceuse d'alerte a transmis des documents internes accablants à la presse.",
            "Dans une lettre ouverte, plus de 700 salariés ont exigé le retour de leur patron.",
            "La grande démission touche aussi la France, où les ruptures conventionnelles atteignent un record.",
            "Avec la loi Pacte, Danone est devenue la première entreprise à mission cotée.",
        ],
        [
            "Les révoltes de la place Tahrir ont renversé le régime d'Hosni Moubarak en 2011.",
            "Les actionnaires du club ont voté la nomination d'un nouveau président.",
            # "activisme salarié" has the keys of "activité salariée"
            "Quelque 500 000 seniors cumulent en France retraite et activité salariée.",
        ],
    ),
    "tente-quechua-travailleur": (
        [
            "Faute de logement abordable, des salariés dorment dans leur voiture sur le parking de l'entreprise.",
            "Le litre de gazole a franchi la barre des 2 euros dans certaines stations.",
            "Les trajets domicile-travail s'allongent pour les ménages repoussés loin des métropoles.",
            "Les syndicats ont signé un accord sur le télétravail qui prévoit deux jours par semaine.",
        ],
        [
            "Les campeurs ont planté leur tente au bord du lac pour le week-end.",
            "Les migrants ont été évacués du campement installé sous le pont.",
            "De retour au bureau, le trader doit faire ses cartons.",
        ],
    ),
    "apres-chute-reseaux": (
        [
            "Paralysé par une cyberattaque au rançongiciel, l'hôpital a dû transférer des patients.",
            "RTE n'exclut pas des délestages cet hiver en cas de vague de froid.",
            "Dans la Drôme, un fournisseur d'accès associatif relie les villages oubliés par les grands opérateurs.",
            "Les habitants du quartier se sont lancés dans l'autoconsommation collective grâce aux panneaux solaires.",
        ],
        [
            "Après la tempête, 50 000 foyers sont privés d'électricité en Bretagne.",
            "La chanteuse a choisi de rester anonyme sur les réseaux sociaux.",
            "Un délestage de kérosène en plein vol a été observé au-dessus de Roissy.",
            "La police veut maintenir un black-out total sur l'enquête.",
        ],
    ),
    "du-calme": (
        [
            "Cette entreprise a instauré une journée sans réunion par semaine pour lutter contre l'infobésité.",
            "Le burn-out touche désormais un cadre sur cinq, selon une étude.",
            "La semaine de quatre jours est testée dans plusieurs entreprises britanniques.",
        ],
        [
            "Le calme est revenu dans le quartier après une nuit de violences.",
            "Dans cette commune de l'Oise, les enfants reviendront à la semaine de quatre jours à la rentrée.",
            "Le logiciel espion Pegasus a infecté le téléphone de plusieurs ministres.",
            "Le projet de loi installerait un état d'urgence permanent, dénonce l'opposition.",
        ],
    ),
    "aurore-contributeurs": (
        [
            "Le taux d'utilisation des bloqueurs de publicité atteint 30 % chez les internautes français.",
            "Des milliers de bénévoles enrichissent chaque jour OpenStreetMap.",
            "Meta lance un abonnement sans publicité pour Facebook et Instagram en Europe.",
            "Les sciences participatives permettent aux amateurs de recenser les oiseaux des jardins.",
            "Les applis sont conçues pour nous rendre accros et capter notre temps de cerveau disponible.",
        ],
        [
            "Le contribuable devra payer la facture de la rénovation du stade.",
            "Google a publié son chiffre d'affaires trimestriel, en hausse de 11 %.",
            # "Foldit" stems like "Fold"
            "Le Samsung Galaxy Fold, premier smartphone pliable de la marque, arrive en magasin.",
        ],
    ),
    "generations-chacun-pour-soi": (
        [
            "Les jeunes délaissent Facebook au profit de TikTok et Snapchat.",
            "Le fossé générationnel se creuse au travail entre boomers et génération Z.",
            "Après le rachat de Twitter, de nombreux utilisateurs ont migré vers Mastodon et Bluesky.",
            "Les ados préfèrent de loin Snapchat pour parler avec leurs amis sur les réseaux sociaux.",
        ],
        [
            "Trois générations d'agriculteurs se sont succédé dans cette ferme.",
            "Facebook a annoncé un nouveau centre de données en Irlande.",
            # "génération Y" has the keys of "générations s'y"
            "L'entreprise familiale fête ses 90 ans, et quatre générations s'y sont succédé.",
        ],
    ),
    "pas-a-un-ordinateur": (
        [
            "Excédés par les répondeurs automatiques, les clients réclament de pouvoir parler à un conseiller humain.",
            "Le service client de l'opérateur a été remplacé par un chatbot, au grand dam des abonnés.",
            "Avec la dématérialisation des démarches, des millions de personnes en situation d'illectronisme "
            "sont laissées de côté.",
            "Le service client de la compagnie ne prend personne au téléphone, déplorent les passagers.",
        ],
        [
            "L'ordinateur de bord de l'avion a signalé une anomalie.",
            "Le spectacle se joue à guichets fermés tout le week-end au théâtre du Châtelet.",
            # "France services" would match « En France, les services… »
            "En France, les services de renseignement restent très discrets sur cette affaire.",
            "Il a accepté de parler à un conseiller d'orientation avant de choisir sa filière.",
        ],
    ),
    "green-it-mort": (
        [
            "Selon le Shift Project, l'empreinte carbone du numérique progresse de 6 % par an.",
            "Les smartphones reconditionnés séduisent de plus en plus de consommateurs.",
            "Des antennes-relais ont été incendiées dans la nuit, l'enquête privilégie la piste criminelle.",
        ],
        [
            "L'épidémie pourrait connaître un effet rebond après les fêtes, selon les épidémiologistes.",
            "Le compteur de vitesse de la voiture affichait 180 km/h.",
            "Les surplus alimentaires sont reconditionnés puis redistribués aux associations.",
        ],
    ),
    "social-networks-health": (
        [
            "Sur Carenity, des milliers de patients partagent leur expérience de la maladie.",
            "L'Allemagne rembourse désormais des applications de santé prescrites par les médecins.",
            "L'application TousAntiCovid a été téléchargée par plus de 10 millions de Français.",
        ],
        [
            "Les réseaux sociaux ont relayé la vidéo de l'agression.",
            "Le patient a été pris en charge par les urgences de l'hôpital.",
            # « données » stems to « don »: "don de données" would match « donnant donnant »
            "Les deux partenaires ont conclu un accord donnant donnant.",
            "Le Samsung Galaxy Fold, premier smartphone pliable de la marque, arrive en magasin.",
        ],
    ),
    "augmentation-humaine": (
        [
            "De plus en plus d'étudiants prennent du Modafinil pour réviser leurs examens.",
            "Les transhumanistes rêvent de repousser indéfiniment les limites du corps.",
            "Bryan Johnson dépense deux millions de dollars par an pour rajeunir, symbole de l'industrie de la longévité.",
        ],
        [
            "L'espérance de vie a reculé en France en 2020 à cause de la pandémie.",
            "Le coureur a été contrôlé positif à l'EPO lors du Tour de France.",
            # "homme augmenté" has the keys of "hommes a augmenté"
            "Le chiffre d'affaires des accessoires pour hommes a augmenté de 20 % en cinq ans.",
        ],
    ),
    "internet-1969-2013": (
        [
            "La FCC a abrogé les règles sur la neutralité du net adoptées sous Obama.",
            "Les opérateurs réclament que les grands générateurs de trafic comme Netflix contribuent "
            "au financement des réseaux.",
            "Avec le Digital Markets Act, Apple devra ouvrir l'iPhone aux magasins d'applications concurrents.",
            "En Inde, le régulateur a interdit Free Basics, l'offre gratuite de Facebook.",
        ],
        [
            "La connexion internet était coupée dans tout l'immeuble pendant deux heures.",
            "La Commission européenne a infligé une amende de 4 milliards à Google.",
            # "Renater" stems like "Renata"
            "La journaliste Renata Silveira commentera la finale de la Coupe du monde.",
        ],
    ),
}

# A few English sentences: English articles are stemmed with the English stemmer, where some
# French-looking terms collapse onto everyday words ("Withings" -> "with").
ENGLISH: list[tuple[str, str | None]] = [
    ("Uber drivers and other gig workers are demanding a minimum wage.", "tous-intermittents"),
    ("The FCC voted on Thursday to repeal net neutrality rules.", "internet-1969-2013"),
    ("Several teachers quit as the teacher shortage worsens across England.", "ecole-en-rupture"),
    ("Anonymous sources said the company would cut 500 jobs.", None),
    ("She met with officials to discuss the new budget with the council.", None),
    ("He spoke to a human rights lawyer about the case.", None),
]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def scenarios() -> Scenarios:
    return load_scenarios(SCENARIOS)


@pytest.fixture(scope="module")
def analyser() -> Analyser:
    return Analyser(entities=False)


@pytest.fixture(scope="module")
def ruleset(scenarios: Scenarios, analyser: Analyser) -> Ruleset:
    return compile_ruleset(scenarios, analyser)


def _evidence(ruleset: Ruleset, analyser: Analyser, text: str, language: str = "fr") -> list[Hit]:
    return [h for h in ruleset.match(analyser.analyse(text, language)) if h.kind in EVIDENCE_KINDS]


# --------------------------------------------------------------------------- structure


def test_exactly_the_19_ruptures(scenarios: Scenarios) -> None:
    ids = [r.id for r in scenarios.ruptures]
    assert ids == DEVELOPED + MICRO, "19 ruptures, in the seed's order"
    assert scenarios.version == 1


def test_kinds_and_titles(scenarios: Scenarios) -> None:
    for r in scenarios.ruptures:
        assert r.kind == ("developed" if r.id in DEVELOPED else "micro"), r.id
        assert r.title and r.summary and r.section, r.id


def test_every_rupture_has_at_least_three_items(scenarios: Scenarios) -> None:
    for r in scenarios.ruptures:
        assert len(r.all_items()) >= 3, r.id


@pytest.mark.parametrize("rupture_id", DEVELOPED)
def test_developed_rupture_is_complete(scenarios: Scenarios, rupture_id: str) -> None:
    r = scenarios.rupture(rupture_id)
    assert r.watch, "every signal à surveiller is a watch item"
    assert r.early_signs, "every signe avant-coureur is an early_signs item"
    assert r.doubts, "every raison de douter is a doubts item"
    assert r.milestones, "the dated timeline events are milestones"
    assert r.announcers, "the people of « qui annonce une telle rupture ? » are announcers"
    sections = (
        {it.section for it in r.watch}
        | {it.section for it in r.early_signs}
        | {it.section for it in r.doubts}
    )
    assert {"signaux à surveiller", "signes avant-coureurs", "raisons de douter"} <= sections


@pytest.mark.parametrize("rupture_id", MICRO)
def test_micro_rupture_is_complete(scenarios: Scenarios, rupture_id: str) -> None:
    r = scenarios.rupture(rupture_id)
    assert len(r.watch) >= 4, "at least 4 watch items derived from the narrative"
    assert len(r.milestones) >= 1, "milestones from the timeline"


def test_item_ids_unique_and_prefixed(scenarios: Scenarios) -> None:
    seen: set[str] = set()
    for r in scenarios.ruptures:
        prefixes = set()
        for _, it in r.all_items():
            assert it.id not in seen, f"duplicate item id {it.id}"
            seen.add(it.id)
            assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)+", it.id), it.id
            prefixes.add(it.id.split("-", 1)[0])
        assert len(prefixes) == 1, (
            f"{r.id}: items should share one rupture code, found {sorted(prefixes)}"
        )


def test_every_item_has_a_section(scenarios: Scenarios) -> None:
    for r in scenarios.ruptures:
        for kind, it in r.all_items():
            assert it.section, f"{r.id}/{it.id} ({kind}) has no section"
            if isinstance(it, Milestone):
                assert it.text.strip(), it.id
                assert 2011 <= it.year <= 2025, f"{it.id}: the seed's timelines run 2011-2025"
            elif not isinstance(it, Announcer):
                assert it.label.strip(), it.id


def test_post_patrimonial_keeps_its_ids(scenarios: Scenarios) -> None:
    ids = {it.id for _, it in scenarios.rupture("post-patrimonial").all_items()}
    assert ids >= STABLE_POST_PATRIMONIAL_IDS


def test_every_term_compiles(analyser: Analyser, ruleset: Ruleset) -> None:
    """compile_ruleset raises on a term that normalises to nothing in French; check English too."""
    assert ruleset.items
    empty = [t for t in ruleset.terms for lang in ("fr", "en") if not analyser.term_keys(t, lang)]
    assert not empty, f"terms that normalise to nothing: {empty}"


def test_no_single_generic_word_alone(scenarios: Scenarios) -> None:
    """Generic words are never a whole `any` term on their own (they must come as phrases or be
    constrained by `all` / `context` / `within`, or by `min_sentences` for a theme item)."""
    generic = {
        "école",
        "écoles",
        "données",
        "réseau",
        "réseaux",
        "travail",
        "entreprise",
        "numérique",
        "internet",
        "santé",
        "ville",
        "villes",
        "emploi",
        "partage",
        "tente",
        "télétravail",
    }
    for r in scenarios.ruptures:
        for _, it in r.all_items():
            if isinstance(it, Announcer) or it.all or it.context or it.min_sentences >= 2:
                continue
            bad = [t for t in it.any if t.lower() in generic]
            assert not bad, f"{it.id}: generic single-word terms {bad}"


# --------------------------------------------------------------------------- sentences


def test_sentence_table_covers_every_rupture() -> None:
    assert set(SENTENCES) == set(DEVELOPED + MICRO)
    for rid, (positives, near_misses) in SENTENCES.items():
        assert len(positives) >= 3, rid
        assert len(near_misses) >= 2, rid


@pytest.mark.parametrize("rupture_id", DEVELOPED + MICRO)
def test_positive_sentences_are_evidence(
    ruleset: Ruleset, analyser: Analyser, rupture_id: str
) -> None:
    failures = []
    for sentence in SENTENCES[rupture_id][0]:
        hits = _evidence(ruleset, analyser, sentence)
        if not any(h.rupture_id == rupture_id for h in hits):
            failures.append(f"{sentence!r} -> {sorted((h.rupture_id, h.item_id) for h in hits)}")
    assert not failures, "no evidence hit for:\n" + "\n".join(failures)


@pytest.mark.parametrize("rupture_id", DEVELOPED + MICRO)
def test_near_misses_are_not_evidence(
    ruleset: Ruleset, analyser: Analyser, rupture_id: str
) -> None:
    failures = []
    for sentence in SENTENCES[rupture_id][1]:
        hits = [h for h in _evidence(ruleset, analyser, sentence) if h.rupture_id == rupture_id]
        if hits:
            failures.append(f"{sentence!r} -> {sorted(h.item_id for h in hits)}")
    assert not failures, "unexpected evidence for:\n" + "\n".join(failures)


@pytest.mark.parametrize(("sentence", "rupture_id"), ENGLISH)
def test_english_sentences(
    ruleset: Ruleset, analyser: Analyser, sentence: str, rupture_id: str | None
) -> None:
    hits = _evidence(ruleset, analyser, sentence, "en")
    if rupture_id is None:
        assert not hits, sorted((h.rupture_id, h.item_id) for h in hits)
    else:
        assert any(h.rupture_id == rupture_id for h in hits), sorted(
            (h.rupture_id, h.item_id) for h in hits
        )


def test_a_crime_story_is_not_evidence_of_anything(ruleset: Ruleset, analyser: Analyser) -> None:
    """A whole (invented) fait divers full of « école », « réseaux sociaux », « données »."""
    text = (
        "Un adolescent de 15 ans a été interpellé mardi devant l'école primaire Jean-Jaurès. "
        "Selon les enquêteurs, la vidéo de la bagarre avait circulé sur les réseaux sociaux. "
        "Les données du téléphone de la victime ont été analysées par la police. "
        "Le maire a annoncé le renforcement de la vidéosurveillance devant les établissements scolaires."
    )
    hits = _evidence(ruleset, analyser, text)
    assert not hits, sorted((h.rupture_id, h.item_id) for h in hits)

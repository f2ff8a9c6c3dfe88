"""The sample wholesaler's catalog: regions, industries, product categories, offers and names.

Shared by every world preset (``features.sample_worlds``); the presets differ in behaviour, not in
what is sold.
"""

from __future__ import annotations

import numpy as np

REGIONS = ("Nord", "Süd", "West", "Ost", "Mitte")
REGION_WEIGHTS = (0.18, 0.26, 0.24, 0.14, 0.18)
INDUSTRIES = ("Maschinenbau", "Automotive", "Bauwesen", "Elektrotechnik", "Lebensmittel",
              "Chemie", "Handwerk", "Logistik")
INDUSTRY_WEIGHTS = (0.20, 0.10, 0.16, 0.12, 0.08, 0.07, 0.19, 0.08)

#: category -> (margin rate, relative purchase frequency, mean list amount per order line in EUR)
CATEGORIES: dict[str, tuple[float, float, float]] = {
    "Befestigungstechnik": (0.38, 1.40, 180.0),
    "Werkzeuge": (0.30, 1.00, 420.0),
    "Arbeitsschutz": (0.34, 1.10, 260.0),
    "Schleifmittel": (0.36, 0.90, 210.0),
    "Klebstoffe": (0.42, 0.60, 150.0),
    "Elektromaterial": (0.19, 0.90, 380.0),
    "Hydraulik": (0.26, 0.40, 900.0),
    "Reinigung": (0.45, 0.70, 140.0),
}

#: Purchase affinity of each industry (rows, INDUSTRIES order) for each category (CATEGORIES order).
INDUSTRY_AFFINITY = np.array([
    [1.6, 1.5, 1.0, 1.3, 0.8, 1.0, 1.6, 0.6],  # Maschinenbau
    [1.4, 1.3, 1.1, 1.5, 1.3, 0.9, 1.0, 0.7],  # Automotive
    [1.8, 1.4, 1.5, 0.9, 1.0, 0.8, 0.4, 0.6],  # Bauwesen
    [0.9, 1.0, 0.8, 0.5, 0.7, 2.0, 0.3, 0.5],  # Elektrotechnik
    [0.5, 0.6, 1.3, 0.3, 0.4, 0.6, 0.5, 2.2],  # Lebensmittel
    [0.6, 0.7, 1.6, 0.4, 0.9, 0.7, 0.8, 1.6],  # Chemie
    [1.5, 1.6, 0.9, 1.0, 1.1, 1.0, 0.3, 0.6],  # Handwerk
    [0.7, 0.8, 1.2, 0.3, 0.6, 0.6, 1.0, 1.2],  # Logistik
])

#: offer_id, category, name, channels, discount steps, guardrail (None = largest step),
#: days before as-of the offer ended (None = active). Offers carry their category's margin rate.
OFFER_SPECS: tuple[tuple[str, str, str, str, str, float | None, int | None], ...] = (
    ("OF01", "Befestigungstechnik", "Schrauben-Sortiment mit Staffelpreis",
     "email|webshop_banner|phone", "0|5|10|15", 10.0, None),
    ("OF02", "Werkzeuge", "Akku-Werkzeug Aktionswochen", "email|webshop_banner|phone|visit",
     "0|5|10", None, None),
    ("OF03", "Werkzeuge", "Werkzeugausgabe-Automat zur Vorführung", "phone|visit", "0|3|6",
     None, None),
    ("OF04", "Arbeitsschutz", "Schutzhandschuh-Abo zum Kennenlernen", "email|webshop_banner",
     "0|5|10", None, None),
    ("OF05", "Arbeitsschutz", "PSA-Jahresvereinbarung", "phone|visit", "0|3|6|9", 6.0, None),
    ("OF06", "Schleifmittel", "Schleifscheiben-Staffelrabatt", "email|phone", "0|5|10|15",
     None, None),
    ("OF07", "Klebstoffe", "Industriekleber Musterpaket", "email|webshop_banner|phone", "0|5",
     None, None),
    ("OF08", "Elektromaterial", "Kabel und Installationsmaterial Frühbezug",
     "email|phone|visit", "0|3|6", None, None),
    ("OF09", "Hydraulik", "Hydraulikschlauch-Service vor Ort", "phone|visit", "0|5|10", 5.0, None),
    ("OF10", "Reinigung", "Reinigungsmittel im Nachfüll-Abo", "email|webshop_banner", "0|5|10",
     None, None),
    ("OF11", "Befestigungstechnik", "Dübel-Neuheiten Sommeraktion", "email|webshop_banner",
     "0|5", None, 150),
    ("OF12", "Schleifmittel", "Winterpaket Schleifmittel", "email|phone", "0|5|10", None, 300),
)

FIRST_NAMES = ("Anna", "Lukas", "Maria", "Jonas", "Sabine", "Thomas", "Julia", "Michael",
               "Katrin", "Stefan", "Laura", "Andreas", "Petra", "Markus", "Sandra", "Tobias",
               "Claudia", "Florian", "Nicole", "Jan", "Monika", "Matthias", "Birgit", "Sebastian")
LAST_NAMES = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
              "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
              "Schwarz", "Braun", "Zimmermann", "Krüger", "Hartmann", "Lange", "Werner", "Krause")

"""Display-only account columns of the sample data: company names, contacts and CRM links.

They are drawn from their own random stream (seeded from the data's seed), so adding them leaves
every other generated value unchanged; the model never reads them (contract v1.1).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_STEMS = ("Albrecht", "Bauer", "Becker", "Brandt", "Engel", "Fischer", "Franke", "Hartmann", "Hoffmann",
          "Jung", "Keller", "Klein", "Koch", "Krause", "Lange", "Lehmann", "Maier", "Meyer", "Neumann",
          "Peters", "Richter", "Roth", "Schmitt", "Schneider", "Schulz", "Schwarz", "Vogel", "Wagner",
          "Weber", "Werner", "Wolf", "Zimmermann")
_TRADES = ("Metallbau", "Maschinenbau", "Elektrotechnik", "Haustechnik", "Bau", "Antriebstechnik",
           "Werkzeugbau", "Logistik", "Anlagenbau", "Kunststofftechnik", "Feinmechanik", "Holzbau")
_FORMS = ("GmbH", "GmbH & Co. KG", "KG", "AG", "e.K.")
_FIRST = ("Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hannes", "Ines", "Jonas", "Katrin",
          "Lukas", "Mara", "Nils", "Olga", "Paul", "Ruth", "Stefan", "Tanja", "Uwe")
#: Offset mixed into the data's seed so this stream never coincides with the simulation's.
_STREAM = 0x5EED_0A3E


def display_columns(account_ids: pd.Series, seed: int) -> pd.DataFrame:
    """``name``, ``contact_name``, ``contact_phone``, ``contact_email`` and ``crm_url`` of each
    account (same index as ``account_ids``), the same for the same ids and seed."""
    rng = np.random.default_rng([seed, _STREAM])
    n = len(account_ids)
    stem = np.array(_STEMS, dtype=object)[rng.integers(0, len(_STEMS), n)]
    trade = np.array(_TRADES, dtype=object)[rng.integers(0, len(_TRADES), n)]
    form = np.array(_FORMS, dtype=object)[rng.integers(0, len(_FORMS), n)]
    first = np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_STEMS, dtype=object)[rng.integers(0, len(_STEMS), n)]
    number = rng.integers(1_000_000, 9_999_999, n)
    ids = account_ids.astype(str).to_numpy(dtype=object)
    name = stem + " " + trade + " " + form
    domain = pd.Series(stem + "-" + trade, dtype=object).str.lower().map(_ascii) + ".example"
    return pd.DataFrame({
        "name": name,
        "contact_name": first + " " + last,
        "contact_phone": ["+49 30 " + str(x) for x in number.tolist()],
        "contact_email": (pd.Series(first, dtype=object).str.lower().map(_ascii) + "@" + domain).to_numpy(),
        "crm_url": ["https://crm.example/accounts/" + str(i) for i in ids.tolist()],
    }, index=account_ids.index)


def _ascii(text: str) -> str:
    """``text`` spelled for an e-mail address (umlauts transcribed, spaces and ``&`` dropped)."""
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss"), (" ", ""), ("&", ""), (".", "")):
        text = text.replace(umlaut, plain)
    return text

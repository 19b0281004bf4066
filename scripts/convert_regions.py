"""One-off conversion of the CBS 2025 Veilig Thuis region data and the woonplaats table into knowledge/regions/*.yml.

Why a script and not hand-typing: 342 gemeenten and 25 regions are too many to copy without error, and
the result must be traceable to ../shared/domain. Run it once (or again when CBS publishes a new
division); afterwards the YAML is the reviewed source of truth and this script is not needed at runtime.

    .venv/bin/python scripts/convert_regions.py [--shared ../shared] [--out knowledge/regions]

The aliases below are our own compilation (not CBS data): everyday names and spellings, Dutch names of
Frisian gemeenten, and former gemeenten that merged *as a whole* into one current gemeente (so the
alias can never point at a wrong region; names shared with a village elsewhere, such as Haren, Vianen
or Winsum, are left out). A name shared by two gemeenten (Bergen) is an alias of both
on purpose: the resolver then answers "ambiguous" with suggestions.

Region notes are shown to users, so only reviewed notes pass (``SHOWN_NOTES``, each checked to occur in the
source row); dated remarks ("(2014)"), counts that the mapping already gives, and internal provenance are
dropped, and a website passes only as a bare domain.

Woonplaatsen: ``knowledge/regions/woonplaatsen_source.csv`` is a transcription of the official woonplaatsen
(rows with a BAG woonplaatscode) of a public table (see ``WOONPLAATS_SOURCE``); its gemeente names predate
some herindelingen, so each is mapped to a 2025 gemeente through the names and the aliases below (a former
gemeente merged as a whole). Rows of gemeenten that were split (``SPLIT_GEMEENTEN``) are left out: their
woonplaatsen went to different gemeenten and we do not guess which.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from pathlib import Path
from typing import Dict, List

from ruamel.yaml import YAML

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DATE = "2025"
GEMEENTEN_CSV = "domain/gemeente_veiligthuisregio_2025.csv"
REGIONS_CSV = "domain/veiligthuis_regios_2025.csv"
WOONPLAATS_CSV = REPO_ROOT / "knowledge" / "regions" / "woonplaatsen_source.csv"
WOONPLAATS_SOURCE = "https://github.com/mvanl94/Lijst-Woonplaatsen-Nederland-/blob/main/woonplaatsen.csv"
# Gemeenten of the source that were divided over several gemeenten; their woonplaatsen are not mapped.
SPLIT_GEMEENTEN = frozenset({"Haaren", "Littenseradiel"})
# Province names of the source -> the CBS suffix that tells gemeenten of the same name apart.
PROVINCE_SUFFIXES = {"Limburg": "L", "Noord-Holland": "NH", "Overijssel": "O", "Zeeland": "Z", "Zuid-Holland": "ZH"}
EXPECTED_GEMEENTEN, EXPECTED_REGIONS = 342, 25

# CBS adds a province suffix to names that also exist as places elsewhere: "Hengelo (O.)".
PROVINCE_SUFFIX = re.compile(r"^(?P<base>.+?) \((?P<province>[A-Z]+)\.\)$")
PROVINCES = {"L": "Limburg", "NH": "Noord-Holland", "O": "Overijssel", "Z": "Zeeland", "ZH": "Zuid-Holland"}
# The region overview marks organisation names it derived from the CBS name without a source of its own.
DERIVED_NAME = re.compile(r"\s*\((?P<note>naam afgeleid van CBS-regio[^)]*)\)")
# A website as users may see it; anything else in the column (a year, "(via ...)") is dropped.
WEBSITE = re.compile(r"(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[\w/-]*)?")
# The only region notes shown to users: timeless, useful to staff, and found in the row's `extra`.
SHOWN_NOTES: Dict[str, str] = {
    "VT02": "online meldingsformulier voor professionals",
    "VT05": "pagina Voor scholen met veelgestelde vragen voor scholen",
    "VT06": "online meldformulier",
    "VT10": "Meldformulier professionals",
    "VT14": "regionale meldcode-app www.meldcode-nog.nl",
    "VT20": "e-mail veiligthuis@samen-veilig.nl",
}

ALIASES: Dict[str, List[str]] = {
    "'s-Gravenhage": ["Den Haag", "The Hague"],
    "'s-Hertogenbosch": ["Den Bosch", "Hertogenbosch"],
    "Alphen aan den Rijn": ["Alphen a/d Rijn"],
    "Altena": ["Werkendam", "Woudrichem", "Aalburg"],
    "Amsterdam": ["Weesp"],
    "Beekdaelen": ["Nuth", "Onderbanken", "Schinnen"],
    "Berg en Dal": ["Groesbeek", "Ubbergen", "Millingen aan de Rijn"],
    "Bergen (L.)": ["Bergen Limburg"],
    "Bergen (NH.)": ["Bergen Noord-Holland"],
    "Capelle aan den IJssel": ["Capelle a/d IJssel"],
    "Dantumadiel": ["Dantumadeel"],
    "De Fryske Marren": ["De Friese Meren", "Joure", "Lemmer"],
    "Dijk en Waard": ["Heerhugowaard", "Langedijk"],
    "Echt-Susteren": ["Echt", "Susteren"],
    "Edam-Volendam": ["Volendam", "Edam"],
    "Eemsdelta": ["Delfzijl", "Appingedam", "Loppersum"],
    "Gooise Meren": ["Bussum", "Naarden", "Muiden"],
    "Groningen": ["Ten Boer"],
    "Harlingen": ["Harns"],
    "Heerenveen": ["It Hearrenfean"],
    "Het Hogeland": ["Bedum", "De Marne", "Eemsmond"],
    "Hoeksche Waard": ["Oud-Beijerland", "Binnenmaas", "Cromstrijen", "Korendijk", "Strijen"],
    "Horst aan de Maas": ["Horst"],
    "Krimpen aan den IJssel": ["Krimpen a/d IJssel"],
    "Krimpenerwaard": ["Schoonhoven", "Bergambacht", "Nederlek", "Vlist"],
    "Land van Cuijk": ["Cuijk", "Boxmeer", "Grave", "Mill en Sint Hubert", "Sint Anthonis"],
    "Leeuwarden": ["Ljouwert"],
    "Leidschendam-Voorburg": ["Leidschendam", "Voorburg"],
    "Maashorst": ["Uden", "Landerd"],
    "Meierijstad": ["Veghel", "Schijndel", "Sint-Oedenrode"],
    "Midden-Groningen": ["Hoogezand-Sappemeer", "Hoogezand", "Menterwolde", "Slochteren"],
    "Molenlanden": ["Giessenlanden", "Molenwaard"],
    "Noardeast-Fryslân": [
        "Noordoost-Friesland",
        "Dongeradeel",
        "Dokkum",
        "Ferwerderadiel",
        "Kollumerland en Nieuwkruisland",
    ],
    "Nuenen, Gerwen en Nederwetten": ["Nuenen"],
    "Purmerend": ["Beemster"],
    "Sittard-Geleen": ["Sittard", "Geleen"],
    "Smallingerland": ["Drachten"],
    "Súdwest-Fryslân": ["Zuidwest-Friesland", "Sneek", "Bolsward"],
    "Tytsjerksteradiel": ["Tietjerksteradeel"],
    "Vijfheerenlanden": ["Leerdam", "Zederik"],
    "Voorne aan Zee": ["Brielle", "Hellevoetsluis", "Westvoorne"],
    "Waadhoeke": ["Franekeradeel", "Franeker", "Het Bildt", "Menameradiel"],
    "West Betuwe": ["Geldermalsen", "Lingewaal", "Neerijnen"],
    "Westerkwartier": ["Leek", "Zuidhorn", "Grootegast", "Marum"],
    "Westerwolde": ["Vlagtwedde", "Bellingwedde"],
    "Zevenaar": ["Rijnwaarden"],
}


def _read_csv(path: Path) -> List[Dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _aliases(name: str) -> List[str]:
    """Curated aliases plus, for suffixed CBS names, the bare name and the name with the province."""
    found = list(ALIASES.get(name, []))
    match = PROVINCE_SUFFIX.match(name)
    if match:
        base, province = match["base"], PROVINCES[match["province"]]
        found = [base] + [a for a in found if a != f"{base} {province}"] + [f"{base} {province}"]
    return list(dict.fromkeys(found))


def gemeenten(rows: List[Dict[str, str]]) -> List[Dict[str, object]]:
    result = []
    for row in sorted(rows, key=lambda r: r["gemeentecode"]):
        item: Dict[str, object] = {
            "code": row["gemeentecode"],
            "name": row["gemeentenaam"],
            "vt_code": row["veiligthuis_code"],
        }
        aliases = _aliases(row["gemeentenaam"])
        if aliases:
            item["aliases"] = aliases
        result.append(item)
    return result


def regions(rows: List[Dict[str, str]]) -> List[Dict[str, object]]:
    result = []
    for row in sorted(rows, key=lambda r: r["veiligthuis_code"]):
        derived = DERIVED_NAME.search(row["organisatie"])
        item: Dict[str, object] = {
            "code": row["veiligthuis_code"],
            "cbs_name": row["cbs_naam_2025"],
            "organisation": DERIVED_NAME.sub("", row["organisatie"]).strip(),
            "gemeente_count": int(row["aantal_gemeenten_2025"]),
        }
        if derived:
            item["name_note"] = derived["note"]
        website = row["website"].strip()
        if WEBSITE.fullmatch(website):
            item["website"] = website
        note = SHOWN_NOTES.get(row["veiligthuis_code"])
        if note:
            if note not in row["extra"]:
                raise ValueError(f"{row['veiligthuis_code']}: reviewed note not in the source row: {note!r}")
            item["extra"] = note
        item["source_url"] = row["bron_url"]
        result.append(item)
    return result


def _gemeente_lookup(rows: List[Dict[str, str]]) -> Dict[str, str]:
    """Every name a source row may use for a 2025 gemeente (official, bare, with province, alias) -> code."""
    lookup: Dict[str, str] = {}
    for row in rows:
        name = row["gemeentenaam"]
        for alias in [name] + _aliases(name):
            lookup.setdefault(_key(alias), row["gemeentecode"])
    return lookup


def _key(name: str) -> str:
    """The source drops the apostrophe of 's-Hertogenbosch: compare without it, case-insensitively."""
    return name.strip().lstrip("'").lower()


# The source lost the apostrophe of "'s-Hertogenbosch", "'t Harde" (it writes "s-Hertogenbosch", "t Harde").
LOST_APOSTROPHE = re.compile(r"^(?=(?:s[ -]|t )[A-Z])")


def _split_names(plaats: str) -> List[str]:
    """'Aalsum / Ealsum' -> both official spellings; a name with '(?)' is the source's own doubt: none.

    Curly quotes around BAG names that tell two woonplaatsen apart ("Hengelo (Gld)") are dropped, and the
    lost apostrophe is put back.
    """
    if "?" in plaats:
        return []
    parts = (part.strip().strip("\u201c\u201d").strip() for part in plaats.split(" / "))
    return [LOST_APOSTROPHE.sub("'", part) for part in parts if part]


def woonplaatsen(rows: List[Dict[str, str]], gemeente_rows: List[Dict[str, str]]) -> List[Dict[str, object]]:
    """Woonplaats -> 2025 gemeente code, for the official woonplaatsen whose gemeente maps unambiguously."""
    lookup = _gemeente_lookup(gemeente_rows)
    result: Dict[tuple, Dict[str, object]] = {}
    unmapped = set()
    for row in rows:
        names = _split_names(row["plaats"])
        gemeente = row["gemeente"].strip()
        if not row["code"].strip() or not names or gemeente in SPLIT_GEMEENTEN:
            continue
        suffix = PROVINCE_SUFFIXES.get(row["provincie"])
        code = lookup.get(_key(f"{gemeente} ({suffix}.)")) if suffix else None
        code = code or lookup.get(_key(gemeente))
        if code is None:
            unmapped.add(gemeente)
            continue
        item: Dict[str, object] = {"name": names[0], "gemeente": code}
        if names[1:]:
            item["also"] = names[1:]
        result.setdefault((names[0], code), item)
    if unmapped:
        raise ValueError(f"source gemeenten without a 2025 gemeente: {sorted(unmapped)}")
    return sorted(result.values(), key=lambda i: (str(i["name"]).lower(), str(i["gemeente"])))


def _dump(path: Path, header: str, data: Dict[str, object]) -> None:
    yaml = YAML()
    yaml.width = 120
    yaml.indent(mapping=2, sequence=4, offset=2)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(header)
        yaml.dump(data, handle)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "knowledge" / "regions")
    args = parser.parse_args(argv)
    gemeente_rows = _read_csv(args.shared / GEMEENTEN_CSV)
    region_rows = _read_csv(args.shared / REGIONS_CSV)
    if len(gemeente_rows) != EXPECTED_GEMEENTEN or len(region_rows) != EXPECTED_REGIONS:
        print(f"unexpected counts: {len(gemeente_rows)} gemeenten, {len(region_rows)} regions", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    generated = "# Generated by scripts/convert_regions.py from ../shared/{csv}; review changes like code.\n"
    _dump(
        args.out / "regions.yml",
        generated.format(csv=REGIONS_CSV),
        {
            "source": {"doc": "vt_regions", "section": "organisatie en website per regio"},
            "data_date": DATA_DATE,
            "regions": regions(region_rows),
        },
    )
    _dump(
        args.out / "gemeenten.yml",
        generated.format(csv=GEMEENTEN_CSV),
        {
            "source": {"doc": "cbs_regions", "section": "gemeente naar Veilig Thuis-regio"},
            "data_date": DATA_DATE,
            "alias_note": "Aliases are our own compilation: everyday names, Dutch names of Frisian gemeenten "
            "and former gemeenten merged as a whole into this one (herindelingen up to 2023).",
            "gemeenten": gemeenten(gemeente_rows),
        },
    )
    places = woonplaatsen(_read_csv(WOONPLAATS_CSV), gemeente_rows)
    _dump(
        args.out / "woonplaatsen.yml",
        "# Generated by scripts/convert_regions.py from knowledge/regions/woonplaatsen_source.csv; "
        "review changes like code.\n",
        {
            "source": {"doc": "woonplaatsen", "section": "woonplaats naar gemeente"},
            "data_date": "2020",  # the source names the gemeenten of 2019-2020 (Westerkwartier, still Delfzijl)
            "source_note": f"Official woonplaatsen (with a BAG woonplaatscode) of {WOONPLAATS_SOURCE}, mapped "
            "to the 2025 gemeenten; woonplaatsen of split gemeenten are left out.",
            "woonplaatsen": places,
        },
    )
    print(
        f"wrote {len(region_rows)} regions, {len(gemeente_rows)} gemeenten and {len(places)} woonplaatsen to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

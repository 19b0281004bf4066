"""One-off conversion of the CBS 2025 Veilig Thuis region data into knowledge/regions/*.yml.

Why a script and not hand-typing: 342 gemeenten and 25 regions are too many to copy without error, and
the result must be traceable to ../shared/domain. Run it once (or again when CBS publishes a new
division); afterwards the YAML is the reviewed source of truth and this script is not needed at runtime.

    .venv/bin/python scripts/convert_regions.py [--shared ../shared] [--out knowledge/regions]

The aliases below are our own compilation (not CBS data): everyday names and spellings, Dutch names of
Frisian gemeenten, and former gemeenten that merged *as a whole* into one current gemeente (so the
alias can never point at a wrong region; names shared with a village elsewhere, such as Haren, Vianen
or Winsum, are left out). A name shared by two gemeenten (Bergen) is an alias of both
on purpose: the resolver then answers "ambiguous" with suggestions.
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
EXPECTED_GEMEENTEN, EXPECTED_REGIONS = 342, 25

# CBS adds a province suffix to names that also exist as places elsewhere: "Hengelo (O.)".
PROVINCE_SUFFIX = re.compile(r"^(?P<base>.+?) \((?P<province>[A-Z]+)\.\)$")
PROVINCES = {"L": "Limburg", "NH": "Noord-Holland", "O": "Overijssel", "Z": "Zeeland", "ZH": "Zuid-Holland"}
# The region overview marks organisation names it derived from the CBS name without a source of its own.
DERIVED_NAME = re.compile(r"\s*\((?P<note>naam afgeleid van CBS-regio[^)]*)\)")

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
    "Noardeast-Fryslân": ["Noordoost-Friesland", "Dongeradeel", "Dokkum", "Ferwerderadiel",
                          "Kollumerland en Nieuwkruisland"],
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
        item: Dict[str, object] = {"code": row["gemeentecode"], "name": row["gemeentenaam"],
                                   "vt_code": row["veiligthuis_code"]}
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
        for key, column in (("website", "website"), ("extra", "extra")):
            if row[column].strip():
                item[key] = row[column].strip()
        item["source_url"] = row["bron_url"]
        result.append(item)
    return result


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
    _dump(args.out / "regions.yml", generated.format(csv=REGIONS_CSV), {
        "source": {"doc": "vt_regions", "section": "organisatie en website per regio"},
        "data_date": DATA_DATE,
        "regions": regions(region_rows),
    })
    _dump(args.out / "gemeenten.yml", generated.format(csv=GEMEENTEN_CSV), {
        "source": {"doc": "cbs_regions", "section": "gemeente naar Veilig Thuis-regio"},
        "data_date": DATA_DATE,
        "alias_note": "Aliases are our own compilation: everyday names, Dutch names of Frisian gemeenten "
                      "and former gemeenten merged as a whole into this one (herindelingen up to 2023).",
        "gemeenten": gemeenten(gemeente_rows),
    })
    print(f"wrote {len(region_rows)} regions and {len(gemeente_rows)} gemeenten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

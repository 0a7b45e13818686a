"""Seeded generator of labelled citizen messages for measuring the privacy scrubber.

Each message is built from a template typical of a Flemish municipal contact centre; slots are
filled with generated entities whose character spans are recorded as gold labels. Hard negatives
(sentence-initial capitalised words, municipality names alone, dates, amounts, invoice and dossier
numbers, checksum-invalid register numbers and IBANs) are filled in unlabelled.

Two corpora: ``generate(seed=7, split="seen")`` uses FIRST_NAMES, SURNAMES and STREETS;
``generate(seed=2024, split="heldout")`` uses the separate HELDOUT_* lists, filtered so that no held-out first name,
surname or street word occurs in the scrubber's own lexicon, which measures recall on unseen names.
"""

from __future__ import annotations

import random
import re
import string
import unicodedata
from dataclasses import dataclass

from stdnum import iban as stdnum_iban

FIRST_NAMES = """
Jan Marc Luc Geert Koen Stijn Wim Dirk Bart Pieter Els Veerle Hilde Katrien Sofie Nele Lotte Griet
Inge Lieve Jef Staf Warre Seppe Senne Robbe Fien Kaat Jolien Marijke Jean-Pierre Sébastien Thierry
Benoît Françoise Nathalie Dominique Pascal Mohamed Ahmed Youssef Mehdi Hamza Bilal Rachid Karim
Fatima Khadija Naima Nadia Samira Hanane Yasmina Salma Mehmet Mustafa Emre Burak Murat Elif Ayşe
Zeynep Fatma Büşra Piotr Paweł Krzysztof Tomasz Marek Katarzyna Agnieszka Małgorzata Joanna Ewa
Wannes Lowie Jitse Tuur Ward Lander Ine Jana Marthe Zita Zoë Wolf Loïc Cédric Maxime Aurélie
Oumaima Ilias Soufiane Zakaria Houda Yasin Berkay Sefa Tuğba Hülya Dawid Bartosz Wiktoria Zofia
""".split()
SURNAMES = """
Peeters Janssens Maes Jacobs Mertens Willems Claes Goossens Wouters Vandenberghe Declercq Verhaeghe
Vandamme Desmet Vanhoutte Dewaele Demeyere Vercruysse Vermeulen Vanneste Debruyne Decock Deprez
Dubois Lambert Dupont Leclercq Lejeune Renard Delhaye Benali Bouzid Azzouzi Bakkali Tahiri Yilmaz
Kaya Demir Şahin Çelik Öztürk Kowalski Nowak Wiśniewski Wójcik Lewandowski Zieliński
De_Smet Van_Damme El_Amrani Van_den_Bossche De_Vos El_Idrissi Ben_Said Ait_Ouali Van_de_Velde
De_Backer Vande_Casteele El_Khattabi De_Clercq Van_Hecke Vanden_Bulcke
Vandeputte Verschelde Lannoo Callewaert Beernaert Vanlerberghe Tytgat Derycke Vanhaecke Delbaere
Soete Bostoen Dejonghe Vanwalleghem Haddouchi Chaouki Bouchtaoui Aydemir Karakaya Kılıç Grabowski
Pawlak Jankowska Wrzosek De_Coninck Van_Overschelde El_Mokhtari Ben_Haddou Ait_Benali Vande_Walle
""".split()
# Held-out surnames and first names that a Flemish scrubber list is unlikely to carry.
HELDOUT_FIRST = """
Brecht Jorunn Siebe Tjorven Wietse Flor Mil Rik Nest Fons Cis Miel Door Leontien Reinhilde Godelieve
Ghislain Romuald Wendelin Ysaline Noor-Ayah Oussama Abdelilah Rkia Touria Yamina Hakima Abdelhak
Çağla Gökhan Serkan Oğuz Sümeyye Eda Przemysław Grzegorz Jadwiga Bożena Kazimierz Wojciech Szymon
""".split()
HELDOUT_SURNAMES = """
Vanderstraeten Wyffels Debaillie Vanackere Vantieghem Goegebeur Vanryckeghem Coussement Vlieghe Quaghebeur
Ghekiere Verbeke Devolder Vanmassenhove Cnudde Bruneel Lagae Dessein Vandekerckhove Vanthuyne
El_Ouariachi Ait_Lahcen Ben_Abdeslam El_Boujjoufi Bouhlal Zaaboul Amezian Ouchan Lamrabet
Çiftçi Güneşdoğdu Karabulut Yüksekkaya Przybylski Szczepańska Krzemiński Brzozowska Woźniak
De_Paepe Van_Wassenhove Vande_Voorde De_Meulemeester Van_Ooteghem Ver_Eecke
""".split()

STREETS = """
Kortrijksestraat Doorniksesteenweg Lange_Steenstraat Grote_Markt Sint-Janslaan Rijselsestraat
Menenstraat Stationsstraat Kerkstraat Bruggestraat Gentsesteenweg Ieperstraat Vlasstraat Leiekaai
Meensesteenweg Zuidstraat Beekstraat Molenstraat Hoogstraat Dorpsplein Marktplein Kapelweg
Kasteeldreef Bosstraat Hospitaalweg Overleiestraat Budastraat Groeningelaan Casinoplein Veemarkt
Harelbeekstraat Kuurnsestraat Oudenaardsesteenweg Bellegemstraat Wevelgemsestraat Zwevegemsestraat
Burgemeester_Vercruysselaan Koning_Albertstraat Onze-Lieve-Vrouwestraat Sint-Amandsplein
Kleine_Leiestraat Noordstraat Vaartstraat Stijn_Streuvelsstraat Guido_Gezellelaan Heirweg
Nijverheidskaai Pottelberg President_Kennedypark Kapucijnenstraat Engelse_Wandeling Hazelaarstraat
Plaatsstraat Deerlijkseweg Waregemseweg Kerkplein Stationsplein Collegewegel Beverlaai Boerenkrijglaan
""".split()
HELDOUT_STREETS = """
Zonnebloemdreef Kiekenmarkt Reepkaai Paddenhoek Beukenhof Lindenlei Vlaskouter Hooiweg Tuinwijk
Kwadestraat Schaapsdries Walleweg Meersbeekpad Dorpsdijk Sparrenhof Kastanjelaan Ijzerweg Leiemeers
Sint-Denijsestraat Pastoor_Verrieststraat Ridder_Morelstraat Karel_de_Goedelaan
Kouter Meir Zand Dijver Spiegelrei Suikerrui Overleie Onderbergen Grote_Kring Nederkouter Coupure
Doorniksewijk Groenerei Kiel Burg Hoogpoort Vismarkt Graslei Braemkasteel Zuidkaai
""".split()
# ^ the second half has no -straat/-laan suffix (real Ghent, Bruges, Antwerp and Kortrijk streets).
PLACES = [
    ("8500", "Kortrijk"), ("8510", "Marke"), ("8511", "Aalbeke"), ("8520", "Kuurne"),
    ("8530", "Harelbeke"), ("8540", "Deerlijk"), ("8550", "Zwevegem"), ("8560", "Wevelgem"),
    ("8570", "Anzegem"), ("8580", "Avelgem"), ("8587", "Spiere-Helkijn"), ("8790", "Waregem"),
    ("8860", "Lendelede"), ("8930", "Menen"), ("8940", "Wervik"), ("9000", "Gent"),
    ("2000", "Antwerpen"), ("3000", "Leuven"), ("8000", "Brugge"), ("8800", "Roeselare"),
    ("8900", "Ieper"), ("1000", "Brussel"), ("7500", "Doornik"), ("7700", "Moeskroen"),
]
MAIL_DOMAINS = ["telenet.be", "gmail.com", "hotmail.com", "skynet.be", "outlook.be", "proximus.be"]

OPENERS = [
    "Goedemiddag", "Goedemorgen", "Beste", "Hallo", "Geachte", "Dag", "Graag", "Gisteren", "Sinds",
    "Vorige week", "Vandaag", "Morgen", "Helaas", "Bedankt", "Opnieuw", "Intussen", "Eerder",
]


@dataclass
class Message:
    text: str
    entities: list[tuple[str, int, int]]


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.entities: list[tuple[str, int, int]] = []
        self.pos = 0

    def add(self, s: str, kind: str | None = None) -> None:
        if kind:
            self.entities.append((kind, self.pos, self.pos + len(s)))
        self.parts.append(s)
        self.pos += len(s)

    def build(self) -> Message:
        return Message("".join(self.parts), self.entities)


def _ascii(s: str) -> str:
    s = s.replace("ł", "l").replace("ı", "i").replace("Ł", "L")
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower()


def _rrn_check(body: str, born_2000: bool) -> int:
    return 97 - (int(("2" if born_2000 else "") + body) % 97)


class Entities:
    def __init__(self, rng: random.Random, split: str) -> None:
        self.rng = rng
        if split == "seen":
            self.first = FIRST_NAMES
            self.last = [s.replace("_", " ") for s in SURNAMES]
            self.streets = [s.replace("_", " ") for s in STREETS]
        else:
            self.first, self.last, self.streets = _heldout_lists()

    def name(self) -> str:
        r = self.rng
        first, last = r.choice(self.first), r.choice(self.last)
        form = r.random()
        if form < 0.12:
            return f"{last} {first}"  # surname first, as on Belgian forms
        if form < 0.18:
            return f"{first[0]}. {last}"
        return f"{first} {last}"

    def surname(self) -> str:
        return self.rng.choice(self.last)

    def rrn(self, valid: bool = True) -> str:
        r = self.rng
        born_2000 = r.random() < 0.4
        yy = r.randint(0, 24) if born_2000 else r.randint(30, 99)
        body = f"{yy:02d}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(1, 997):03d}"
        check = _rrn_check(body, born_2000)
        if not valid:
            check = (check + r.randint(1, 50)) % 97 or 13
        d = body + f"{check:02d}"
        return r.choice([
            f"{d[:2]}.{d[2:4]}.{d[4:6]}-{d[6:9]}.{d[9:]}", d, f"{d[:2]} {d[2:4]} {d[4:6]} {d[6:9]} {d[9:]}",
            f"{d[:2]}-{d[2:4]}-{d[4:6]}-{d[6:9]}-{d[9:]}", f"{d[:6]}-{d[6:9]}-{d[9:]}", f"{d[:6]} {d[6:9]} {d[9:]}",
        ])

    def iban(self, valid: bool = True) -> str:
        r = self.rng
        while True:
            country = r.choice(["BE", "BE", "BE", "NL", "DE", "LU", "FR", "ES"])
            if country == "BE":
                ten = f"{r.randint(0, 9_999_999_999):010d}"
                bban = ten + f"{(int(ten) % 97) or 97:02d}"
            elif country == "NL":
                bban = "".join(r.choice(string.ascii_uppercase) for _ in range(4)) + f"{r.randint(0, 10**10 - 1):010d}"
            elif country == "DE":
                bban = f"{r.randint(0, 10**18 - 1):018d}"
            elif country == "LU":
                bban = f"{r.randint(0, 999):03d}" + "".join(
                    r.choice(string.digits + string.ascii_uppercase) for _ in range(13))
            elif country == "ES":
                bban = f"{r.randint(0, 10**20 - 1):020d}"
            else:
                bban = f"{r.randint(0, 10**21 - 1):021d}" + f"{r.randint(0, 99):02d}"
            number = country + "00" + bban
            number = country + stdnum_iban.calc_check_digits(number) + bban
            if stdnum_iban.is_valid(number):
                break
        if not valid:
            wrong = (int(number[2:4]) + r.randint(1, 9)) % 100
            number = number[:2] + f"{wrong:02d}" + number[4:]
        if r.random() < 0.6:
            return " ".join(number[i : i + 4] for i in range(0, len(number), 4))
        return number

    def phone(self) -> str:
        r = self.rng
        if r.random() < 0.5:
            nat = f"4{r.randint(70, 99)}{r.randint(0, 999_999):06d}"
            a, rest = nat[:3], nat[3:]
            groups = [rest[:2], rest[2:4], rest[4:]]
        else:
            zone = r.choice(["56", "9", "2", "3", "50", "51", "57", "16", "55", "59"])
            rest = f"{r.randint(200_000, 999_999):06d}" if len(zone) == 2 else f"{r.randint(2_000_000, 9_999_999):07d}"
            a = zone
            groups = [rest[:2], rest[2:4], rest[4:]] if len(zone) == 2 else [rest[:3], rest[3:5], rest[5:]]
        sep = r.choice([" ", ".", ""])
        tail = sep.join(groups)
        return r.choice([
            f"0{a} {tail}", f"0{a}/{tail}", f"0{a}/{''.join(groups)}", f"0{a}{''.join(groups)}",
            f"+32 {a} {' '.join(groups)}", f"+32{a}{''.join(groups)}", f"0032 {a} {' '.join(groups)}",
            f"+32 (0){a} {' '.join(groups)}", f"0{a}.{'.'.join(groups)}",
        ])

    def email(self, name: str) -> str:
        parts = [p for p in re.split(r"[ .]+", name) if p]
        user = self.rng.choice([".".join(_ascii(p) for p in parts), _ascii(parts[0]) + str(self.rng.randint(1, 99))])
        return f"{user.replace(' ', '')}@{self.rng.choice(MAIL_DOMAINS)}"

    def street(self) -> str:
        r = self.rng
        number = str(r.randint(1, 250)) + (r.choice(["", "", "", "A", "b"]))
        s = f"{r.choice(self.streets)} {number}"
        if r.random() < 0.25:
            s += r.choice([f" bus {r.randint(1, 12)}", f"/{r.randint(1, 9)}", f" bus {r.randint(101, 305)}"])
        return s

    def place(self) -> str:
        pc, town = self.rng.choice(PLACES)
        return f"{pc} {town}"

    def plate(self) -> str:
        r = self.rng
        L = "".join(r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
        D = f"{r.randint(0, 999):03d}"
        return r.choice([f"{r.randint(1, 2)}-{L}-{D}", f"{r.randint(1, 2)}{L}{D}", f"{r.randint(1, 2)} {L} {D}",
                         f"{L}-{D}", f"{D}-{L}"])

    # hard negatives
    def date(self) -> str:
        r = self.rng
        d, m, y = r.randint(1, 28), r.randint(1, 12), r.randint(2019, 2025)
        months = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
                  "september", "oktober", "november", "december"]
        return r.choice([f"{d:02d}/{m:02d}/{y}", f"{d}.{m:02d}.{y}", f"{d} {months[m - 1]} {y}", f"{d}-{m}-{y}"])

    def amount(self) -> str:
        r = self.rng
        return r.choice([f"€ {r.randint(10, 5000)},{r.randint(0, 99):02d}", f"{r.randint(5, 900)} euro",
                         f"EUR {r.randint(1, 9)}.{r.randint(0, 999):03d},00"])

    def reference(self) -> str:
        r = self.rng
        return r.choice([f"factuur {r.randint(2019, 2025)}/{r.randint(1000, 999999)}",
                         f"dossier OMV-{r.randint(2019, 2025)}-{r.randint(1, 9999):04d}",
                         f"referentie {r.randint(2019, 2025)}-{r.randint(1000000, 9999999)}",
                         f"klantnummer {r.randint(10**9, 10**10 - 1)}",
                         f"ondernemingsnummer 0{r.randint(200, 999)}.{r.randint(100, 999)}.{r.randint(100, 999)}",
                         # an invalid number *without* a word saying it is a national number stays
                         # (after "rijksregisternummer" even a mistyped one is removed: issue 13)
                         f"dossiernummer {self.rrn(valid=False)} (volgens u fout)",
                         f"rekening {self.iban(valid=False)} die geweigerd werd"])

    def town(self) -> str:
        return self.rng.choice(PLACES)[1]


# Templates: "{kind}" slots are personal data (labelled), "{!kind}" slots are hard negatives.
TEMPLATES = [
    "{opener}, mijn naam is {naam} en ik woon in de {straat}, {plaats}. Mijn rijksregisternummer is {rrn}.",
    "{opener}, ik wil graag mijn adres wijzigen naar {straat}, {plaats}. U kan mij bereiken op {tel} of via {email}.",
    "Mevrouw {achternaam} belde op {!datum} over {!ref}. Het bedrag van {!bedrag} werd al betaald via {iban}.",
    ("{opener} heb ik een parkeerboete gekregen voor de wagen {plaat} in {!gemeente}, "
     "maar ik was toen in het buitenland."),
    "Beste, de buurman {naam} laat zijn hond elke dag los in het park. Graag actie. Groeten, {naam}",
    "Ik heb op {!datum} een aanvraag ingediend voor een premie ({!ref}). Graag storten op {iban} op naam van {naam}.",
    "{opener}, er ligt sluikafval aan de {straat} in {!gemeente}. Contact: {tel}.",
    "Dhr. {achternaam} ({rrn}) vraagt een attest van gezinssamenstelling. Telefoon: {tel}.",
    "Mijn dochter {naam} is ingeschreven in de school aan de {straat}. Kan u haar inschrijving bevestigen via {email}?",
    "{opener}. De container voor {straat} werd niet opgehaald op {!datum}. Het gaat om {!ref}.",
    "Met vriendelijke groeten,\n{naam}\n{straat}\n{plaats}\nGSM: {tel}",
    "Ik betaalde {!bedrag} te veel voor {!ref}. Gelieve terug te storten op rekening {iban}. Mvg, {naam}",
    "Er staat al drie weken een verlaten auto met nummerplaat {plaat} in de {straat}.",
    "{opener} contacteerde ik uw dienst in {!gemeente} over mijn identiteitskaart. Rijksregisternummer: {rrn}.",
    "Graag een afspraak voor {naam} bij de sociale dienst. Bereikbaar op {tel} na 17 uur.",
    "Namens mijn moeder {naam}, wonende {straat} te {plaats}, vraag ik een bewonerskaart voor {plaat}.",
    "Vorige maand werd {!bedrag} gedomicilieerd van {iban} zonder toestemming. Ik heb {!ref} nooit ontvangen.",
    "{opener}, wie is bevoegd voor de wegenwerken in {!gemeente}? Mijn mail is {email}.",
    "De heer {naam} en mevrouw {naam} melden een lek in de straatverlichting ter hoogte van {straat}.",
    "Bij deze bezorg ik het rijksregisternummer van mijn zoon: {rrn}. Zijn e-mailadres is {email}.",
    "{opener} werd mijn fiets gestolen aan het station van {!gemeente}. Mijn telefoonnummer: {tel}.",
    "Kan {naam} het verslag van de gemeenteraad van {!datum} ontvangen? Adres: {straat}, {plaats}.",
    "Ik ben {naam}, {!leeftijd} jaar, en zoek een sociale woning in {!gemeente}.",
    "Wagen {plaat} blokkeert elke ochtend de oprit van {straat}. Eigenaar onbekend. Melder: {naam}, {tel}.",
]


def _heldout_lists() -> tuple[list[str], list[str], list[str]]:
    """Held-out names and streets, minus any word the scrubber's lexicon knows."""
    from proeftuin.privacy import default_lexicon

    lex = default_lexicon()
    known = lex.first_names | lex.surnames
    first = [n for n in HELDOUT_FIRST if n.lower() not in known]
    last = []
    for s in HELDOUT_SURNAMES:
        words = [w for w in s.split("_") if w.lower() not in {"el", "ait", "ben", "de", "van", "vande", "ver"}]
        if all(w.lower() not in known for w in words):
            last.append(s.replace("_", " "))
    streets = [s.replace("_", " ") for s in HELDOUT_STREETS]
    return first, last, streets


def generate(n: int = 1000, seed: int = 7, split: str = "seen") -> list[Message]:
    rng = random.Random(seed)
    ent = Entities(rng, split)
    messages = []
    for _ in range(n):
        template = rng.choice(TEMPLATES)
        b = _Builder()
        for literal, slot in re.findall(r"([^{]*)(?:\{([!\w]+)\})?", template):
            b.add(literal)
            if not slot:
                continue
            if slot == "naam":
                b.add(ent.name(), "naam")
            elif slot == "achternaam":
                b.add(ent.surname(), "naam")
            elif slot == "rrn":
                b.add(ent.rrn(), "rijksregisternummer")
            elif slot == "iban":
                b.add(ent.iban(), "iban")
            elif slot == "tel":
                b.add(ent.phone(), "telefoon")
            elif slot == "email":
                b.add(ent.email(ent.name()), "email")
            elif slot == "straat":
                b.add(ent.street(), "adres")
            elif slot == "plaats":
                b.add(ent.place(), "adres")
            elif slot == "plaat":
                b.add(ent.plate(), "nummerplaat")
            elif slot == "opener":
                b.add(rng.choice(OPENERS))
            elif slot == "!datum":
                b.add(ent.date())
            elif slot == "!bedrag":
                b.add(ent.amount())
            elif slot == "!ref":
                b.add(ent.reference())
            elif slot == "!gemeente":
                b.add(ent.town())
            elif slot == "!leeftijd":
                b.add(str(rng.randint(18, 95)))
            else:  # pragma: no cover - template typo
                raise ValueError(slot)
        messages.append(b.build())
    return messages


# ---------------------------------------------------------------- scoring

_WORD = re.compile(r"[^\W\d_]+")


def evaluate(messages: list[Message], find) -> dict:
    """Per-type precision/recall and the share of ordinary words that survive.

    A gold entity is recalled when every letter and digit of it lies inside findings of its type
    (a half-masked name still leaks). A finding is correct when it overlaps a gold entity of its type.
    """
    kinds = ["rijksregisternummer", "iban", "telefoon", "email", "nummerplaat", "adres", "naam"]
    tp_gold = {k: 0 for k in kinds}
    n_gold = {k: 0 for k in kinds}
    tp_pred = {k: 0 for k in kinds}
    n_pred = {k: 0 for k in kinds}
    words_total = words_kept = 0
    for msg in messages:
        found = find(msg.text)
        for kind, s, e in msg.entities:
            n_gold[kind] += 1
            covered = set()
            for k2, fs, fe in found:
                if k2 == kind:
                    covered.update(range(max(s, fs), min(e, fe)))
            if all(i in covered for i in range(s, e) if msg.text[i].isalnum()):
                tp_gold[kind] += 1
        for kind, fs, fe in found:
            if kind not in n_pred:
                continue
            n_pred[kind] += 1
            if any(k == kind and fs < e and s < fe for k, s, e in msg.entities):
                tp_pred[kind] += 1
        for w in _WORD.finditer(msg.text):
            if any(w.start() < e and s < w.end() for _, s, e in msg.entities):
                continue
            words_total += 1
            if not any(w.start() < fe and fs < w.end() for _, fs, fe in found):
                words_kept += 1
    per_type = {
        k: {
            "precision": tp_pred[k] / n_pred[k] if n_pred[k] else 1.0,
            "recall": tp_gold[k] / n_gold[k] if n_gold[k] else 1.0,
            "support": n_gold[k],
        }
        for k in kinds
    }
    return {"per_type": per_type, "word_survival": words_kept / max(words_total, 1)}

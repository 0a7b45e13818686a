"""Gazetteers of what is *not* a person: Belgian municipalities, countries, places abroad, multi-word
places and media, nationality adjectives, institutions and organisations. They are matched folded
(`_fold`: lower case, no diacritics)."""

from __future__ import annotations

import functools
import unicodedata

# Belgian municipalities and cities (Dutch names); alone they are not personal data.
MUNICIPALITIES = """
Aalst Aalter Aarschot Alveringem Anzegem Antwerpen Ardooie Arendonk As Asse Assenede Avelgem
Baarle-Hertog Balen Beernem Beerse Beersel Begijnendijk Bekkevoort Beringen Berlaar Berlare
Bertem Bever Beveren Bierbeek Bilzen Blankenberge Bocholt Boechout Bonheiden Boom Boortmeerbeek
Bornem Borsbeek Boutersem Brakel Brasschaat Brecht Bredene Bree Brugge Brussel Buggenhout Damme
Deerlijk Deinze Denderleeuw Dendermonde Dentergem Dessel Destelbergen
Diepenbeek Diest Diksmuide Dilbeek Dilsen-Stokkem Drogenbos Duffel Edegem Eeklo Erpe-Mere Essen
Evergem Galmaarden Gavere Geel Geetbets Genk Gent Geraardsbergen Gingelom Gistel Glabbeek
Grimbergen Grobbendonk Haacht Haaltert Halen Halle Hamme Harelbeke Hasselt Hechtel-Eksel
Heist-op-den-Berg Herent Herentals Herenthout Herk-de-Stad Herselt Herzele Heusden-Zolder Heuvelland
Hoegaarden Hoeilaart Hoogstraten Hooglede Houthulst Hove Huldenberg Hulshout Ichtegem Ieper Ingelmunster
Izegem Jabbeke Kalmthout Kampenhout Kapellen Kapelle-op-den-Bos Kaprijke Kasterlee Keerbergen
Kinrooi Knokke-Heist Koekelare Koksijde Kontich Kortemark Kortenaken Kortenberg Kortrijk Kraainem
Kruibeke Kruisem Kuurne Laakdal Laarne Lanaken Landen Langemark-Poelkapelle Lebbeke Lede Ledegem
Lendelede Lennik Leopoldsburg Leuven Lichtervelde Liedekerke Lier Lierde Lille Linkebeek Lint
Linter Lochristi Lokeren Lommel Londerzeel Lo-Reninge Lubbeek Lummen Maarkedal Maaseik Maasmechelen
Machelen Maldegem Malle Mechelen Meerhout Meise Melle Menen Merchtem Merelbeke Merksplas Mesen
Meulebeke Middelkerke Moerbeke Mol Moorslede Mortsel Nazareth Nevele Niel Nieuwerkerken Nieuwpoort
Nijlen Ninove Olen Oostende Oosterzele Oostkamp Oostrozebeke Opwijk Oudenaarde Oudenburg Oud-Heverlee
Oud-Turnhout Overijse Peer Pepingen Pittem Poperinge Putte Puurs-Sint-Amands Ranst Ravels Retie
Riemst Rijkevorsel Roeselare Ronse Roosdaal Rotselaar Ruiselede Rumst Schelle Scherpenheuvel-Zichem
Schilde Schoten Sint-Genesius-Rode Sint-Gillis-Waas Sint-Katelijne-Waver Sint-Laureins
Sint-Lievens-Houtem Sint-Martens-Latem Sint-Niklaas Sint-Pieters-Leeuw Sint-Truiden Spiere-Helkijn
Staden Steenokkerzeel Stekene Temse Ternat Tervuren Tessenderlo Tielt Tielt-Winge Tienen Tongeren
Torhout Tremelo Turnhout Veurne Vilvoorde Vleteren Voeren Vorselaar Vosselaar Waarschoot Waasmunster
Wachtebeke Waregem Wellen Wemmel Wervik Westerlo Wetteren Wevelgem Wezembeek-Oppem Wichelen
Wielsbeke Wijnegem Willebroek Wingene Wommelgem Wortegem-Petegem Wuustwezel Zandhoven Zaventem
Zedelgem Zele Zelzate Zemst Zingem Zoersel Zonhoven Zonnebeke Zottegem Zoutleeuw Zuienkerke Zulte
Zutendaal Zwalm Zwevegem Zwijndrecht Marke Bissegem Heule Bellegem Kooigem Rollegem Aalbeke Lauwe
Rekkem Gullegem Moorsele Heestert Ingooigem Tiegem Vichte Kerkhove Bossuit Outrijve Waarmaarde
Otegem Sint-Denijs Zwevegem Beveren-Leie Desselgem Sint-Eloois-Vijve Hulste Bavikhove Stasegem
Geluwe Kruiseke Dadizele Rumbeke Lendelede Doornik Moeskroen Luik Namen Bergen Charleroi Aarlen
Waver Nijvel Rijsel Parijs Amsterdam Kortrijkse Leie Schelde
""".split()


@functools.lru_cache(maxsize=200_000)
def _fold(word: str) -> str:
    """Lower case without diacritics: real text writes 'Belgie', 'Financien', 'Wallonie'."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


# Countries, regions and foreign places (Dutch exonyms plus common English/French forms). One-word
# entries block a word; multi-word entries ("Verenigde Staten") block the whole span.
COUNTRIES = """
afghanistan albanie algerije andorra angola argentinie armenie australie azerbeidzjan bahrein
bangladesh belarus wit-rusland belgie benin bhutan bolivia bosnie bosnie-herzegovina botswana
brazilie bulgarije burundi cambodja canada chili china colombia congo kongo cuba cyprus denemarken
djibouti duitsland ecuador egypte eritrea estland ethiopie filipijnen finland frankrijk gabon gambia
georgie ghana griekenland groenland guatemala guinee haiti honduras hongarije ierland ijsland india
indonesie irak iran israel italie ivoorkust jamaica japan jemen jordanie kameroen kazachstan kenia
kirgizie koeweit kosovo kroatie laos letland libanon liberia libie liechtenstein litouwen luxemburg
macedonie noord-macedonie madagaskar malawi maleisie mali malta marokko mauritanie mexico moldavie
monaco mongolie montenegro mozambique myanmar birma namibie nederland holland nepal nicaragua niger
nigeria noorwegen oekraine oezbekistan oman oostenrijk pakistan palestina panama paraguay peru polen
portugal qatar roemenie rusland rwanda saoedi-arabie senegal servie singapore slovakije slovenie
soedan somalie spanje syrie tadzjikistan taiwan tanzania thailand togo tsjaad tsjechie tunesie
turkije turkmenistan uganda uruguay venezuela vietnam zambia zimbabwe zweden zwitserland engeland
schotland wales europa afrika azie amerika oceanie antarctica gaza tibet koerdistan catalonie
zuid-afrika noord-korea zuid-korea nieuw-zeeland oost-timor kaapverdie vaticaan
france belgique belgium germany deutschland england spain espagne italy italia netherlands turkey
morocco maroc usa vs vk
""".split()
PLACES_ABROAD = """
londen parijs rome berlijn madrid lissabon wenen praag warschau boedapest athene moskou istanbul
ankara washington frankfurt munchen keulen aken dusseldorf hamburg turijn milaan napels barcelona
geneve straatsburg luxemburg rotterdam amsterdam utrecht eindhoven maastricht lille kinshasa rabat
casablanca tanger nador algiers tunis cairo beiroet damascus bagdad kabul teheran jeruzalem peking
beijing tokio delhi mosul raqqa aleppo braunschweig lindau calais duinkerke straatsburg
dinant bertrix luik namen bergen charleroi aarlen bastenaken hoei doornik moeskroen aat lessen
komen edingen zinnik nijvel waver geldenaken borgworm verviers eupen malmedy spa seraing froyennes
picardie ardennen henegouwen kempen limburg antwerpen oost-vlaanderen west-vlaanderen vlaams-brabant
waals-brabant zeebrugge zaventem schiphol vlaanderen wallonie brussel arkansas texas californie
florida nangarhar syrie darfur sahel maghreb balkan benelux schengen noordzee schelde maas
jette elsene schaarbeek anderlecht molenbeek sint-jans-molenbeek ukkel vorst etterbeek evere
ganshoren koekelberg oudergem watermaal-bosvoorde sint-gillis sint-joost-ten-node schuman
sint-agatha-berchem sint-lambrechts-woluwe sint-pieters-woluwe roma munt
fransen duitsers belgen turken marokkanen nederlanders britten amerikanen russen polen syriers
""".split()
MULTIWORD_PLACES = [
    "verenigde staten", "verenigd koninkrijk", "verenigde arabische emiraten", "sierra leone",
    "sri lanka", "costa rica", "el salvador", "burkina faso", "democratische republiek congo",
    "centraal-afrikaanse republiek", "dominicaanse republiek", "tsjechische republiek",
    "groothertogdom luxemburg", "verenigde naties", "europese unie", "new york", "los angeles",
    "hong kong", "den haag", "addis abeba", "albert hein", "albert heijn", "la louviere", "saudi arabie",
    "zuid duitse", "grote markt",
    "de morgen", "de standaard", "de tijd", "het laatste nieuws", "het nieuwsblad", "le soir",
    "le monde", "la libre", "france inter", "de lijn", "de post", "de watergroep", "de kringwinkel",
]
# Nationality and regional adjectives; both the -s and -se forms are generated.
_ADJECTIVE_STEMS = """
afghaans albanees algerijns amerikaans arabisch argentijns armeens australisch azerbeidzjaans
belgisch braziliaans brits bulgaars canadees chinees congolees cubaans cypriotisch deens duits
egyptisch engels eritrees estisch ethiopisch europees fins frans georgisch grieks hongaars iers
indiaas indonesisch iraaks iraans israelisch italiaans japans jordaans keniaans koerdisch kroatisch
lets libanees libisch litouws luxemburgs marokkaans mexicaans nederlands noors oekraiens oostenrijks
pakistaans palestijns pools portugees roemeens russisch saoedisch schots servisch slovaaks sloveens
somalisch spaans syrisch tsjechisch tunesisch turks vlaams waals zweeds zwitsers afrikaans
aziatisch brussels luiks gents antwerps kortrijks limburgs kempisch henegouws picardisch
scandinavisch westers oosters nederlandstalig franstalig duitstalig engelstalig anderstalig
federaal nationaal internationaal koninklijk gewestelijk provinciaal gemeentelijk centraal
grondwettelijk burgerlijk gerechtelijk wetenschappelijk gemeenschappelijk hoofdstedelijk
islamitisch christelijk katholiek joods socialistisch liberaal
""".split()


def _inflect(stem: str) -> set[str]:
    forms = {stem}
    if stem.endswith("ees"):
        forms.add(stem[:-3] + "ese")
    elif stem.endswith("aal"):
        forms.add(stem[:-3] + "ale")
    elif stem.endswith(("ig", "ijk", "isch")):
        forms.add(stem + "e")
    else:
        forms.add(stem + "e")
    return forms


NATIONALITIES = {form for stem in _ADJECTIVE_STEMS for form in _inflect(stem)}
# Institutions, bodies and the head words of their names (Belgian, EU, generic). A chain of
# capitalised words that contains one of these is an organisation, not a person.
INSTITUTION_WORDS = """
kamer senaat staat staten regering ministerraad parlement hof raad commissie dienst diensten fod
pod agentschap inspectie regie unie gewest gewesten gemeenschap gemeenschappen provincie provincies
wetboek wet grondwet decreet ordonnantie verordening richtlijn verdrag akkoord parket rechtbank
tribunaal politie justitie financien volksgezondheid defensie binnenlandse buitenlandse zaken
economie werk mobiliteit ministerie kabinet administratie directie directoraat-generaal bestuur
fonds instituut centrum comite college orde bank ziekenfonds ziekenfondsen kas rijksdienst rekenhof
vereniging verbond federatie bond navo nato vn eu ocmw ombudsdienst ombudsman state konings
koninkrijk stichting universiteit hogeschool ziekenhuis museum krant partij groep netwerk beweging
project programma plan systeem model verslag vragen antwoorden integraal kamercommissie
cassatie justitie gezondheidsraad arbeidsraad douane accijnzen belastingen fiscaliteit pensioenen
asiel migratie vreemdelingenzaken energie klimaat landbouw onderwijs sport cultuur toerisme
veiligheid begroting openbaar overheid overheden bijstand bevoegdheid zetel gouvernement
gemeenten gemeente stad steden regio zone zones brandweer leger spoorwegen post telecom
handel ontwikkelingssamenwerking middenstand zelfstandigen kmo digitale agenda armoedebestrijding
werkgelegenheid consumentenzaken wetenschapsbeleid ambtenarenzaken overheidsbedrijven
fraudebestrijding privacy sociale secretariaat
""".split()
# Compound heads: 'Gezondheidsraad', 'Belastinginspectie', 'Vluchtelingenwerk' (only for words
# that are not themselves in the name lists: 'Oosterhof' stays a surname).
_ORG_SUFFIXES = (
    "raad", "hof", "dienst", "diensten", "commissie", "centrum", "instituut", "fonds", "agentschap",
    "inspectie", "bank", "ministerie", "directie", "bestuur", "parket", "rechtbank", "vereniging",
    "verbond", "federatie", "bond", "maatschappij", "organisatie", "netwerk", "beweging", "museum",
    "groep", "partij", "unie", "gewest", "wetboek", "kantoor", "stichting", "huis", "park", "plan",
    "project", "systeem", "verbinding", "complex", "toren", "werk", "programma", "akkoord", "wet",
    "decreet", "kas", "politie", "secretariaat", "cel", "korps", "gemeenschap", "ziekenfonds", "ziekenfondsen",
    "verdrag",
)
# Companies, media, products and other capitalised non-persons met in Belgian text.
ORGANISATIONS = """
knack vrt rtbf vtm microsoft google facebook twitter apple amazon blokker proximus bpost infrabel
nmbs sncb delhaize colruyt deloitte fluvius elia engie electrabel telenet orange base ryanair
brussels airlines frontex europol interpol unicef unesco oeso opec who diyanet vlabel kce riziv
windows iphone android covid corona ku ugent vub ulb uclouvain
""".split()

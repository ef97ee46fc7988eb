"""The articles that generated narrations read: the seed article's body (as its truth.json
has it) and three reports written for these tests. The three are fiction: events and
people are made up; places and some organizations are real, because a speech recognizer
mishears those. Used by tests/makemedia.py, benchmarks/narrations.py and benchmarks/search.py.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from support import SEED as SEED_DIR

SEED_TRUTH = SEED_DIR / "truth.json"


@dataclass(frozen=True)
class Article:
    name: str
    title: str
    author: str
    outlet: str
    date: str  # ISO date
    themes: tuple[str, ...]
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs) + "\n"


def seed_paragraphs(truth_path: Path = SEED_TRUTH) -> tuple[str, ...]:
    """The seed body exactly as its truth.json has it: sentences joined per paragraph."""
    sentences = json.loads(truth_path.read_text(encoding="utf-8"))["sentences"]
    paras: dict[int, list[tuple[int, str]]] = {}
    for s in sentences:
        if s["in_article"]:
            paras.setdefault(s["paragraph"], []).append((s["sentence"], s["text"]))
    return tuple(" ".join(t for _, t in sorted(paras[p])) for p in sorted(paras))


SEED = Article(
    name="seed",
    title="Video: ISIS Threat Revives in Eastern Syria. Idlib Militants Kill Each Other Over Security Zone Deal Contradictions",
    author="South Front", outlet="Global Research", date="2020-03-20",
    themes=("Intelligence", "Terrorism"),
    paragraphs=seed_paragraphs(),
)

PORTS = Article(
    name="ports",
    title="Dockworkers in Rotterdam and Antwerp Extend Strike as Ships Queue in the North Sea",
    author="Marijke Verhoeven", outlet="Harbour Wire", date="2024-03-19",
    themes=("Economy", "Labour", "Shipping"),
    paragraphs=(
        "Dockworkers at the ports of Rotterdam and Antwerp extended their strike on Tuesday for a third week, "
        "leaving more than 140 container ships waiting at anchor in the North Sea. "
        "The Havenbond union said 2,300 of its members had voted to reject the latest offer from the terminal operators. "
        "Talks led by the mediator Willemijn Oosterhuis collapsed late on March 17 after 14 hours of negotiation. "
        "Several shipping lines have begun diverting cargo to Hamburg, Bremerhaven and Gdansk.",

        "The dispute centres on automation at the Maasvlakte 2 terminals, where remote-controlled cranes have replaced about 600 jobs since 2015. "
        "Union leader Joost van der Kruijssen told reporters in Schiedam that the employers had offered a pay rise of 4.5 percent but no guarantee against further layoffs. "
        "The employers say the terminals lost $3.5 billion in business to Piraeus and Tanger Med last year. "
        "A Belgian union, Transcom Vlaanderen, has joined the action in solidarity by closing the Deurganck dock near Antwerp.",

        "Economists in Amsterdam estimate that the strike is costing the Dutch economy around 14.2 million euros a day. "
        "Supermarket chains warned of shortages of fresh fruit from Chile and Costa Rica within two weeks. "
        "Growers in the Westland region said tomato exports to Britain and Scandinavia had already fallen by a third. "
        "The deputy mayor of Rotterdam, Ayoub El Khattabi, urged both sides to return to the table before Easter.",

        "In Poland, the operator of the Baltic Hub terminal in Gdansk said it had handled a record 98,000 containers in the first two weeks of March. "
        "Its chief executive, Przemyslaw Wojciechowski, said the company had hired 120 temporary workers from Gdynia and Szczecin to cope with the surge. "
        "Port officials in Hamburg reported waiting times of up to 6 days for vessels arriving from Shanghai and Ningbo.",

        "The European Commission has so far declined to intervene. "
        "A spokeswoman in Brussels, Ioana Dragomirescu, said labour disputes remained a matter for national authorities. "
        "However, transport ministers from the Netherlands, Belgium and Luxembourg are expected to meet union representatives in Esch-sur-Alzette on March 24. "
        "Freight analysts in London said rates from Asia to northern Europe could rise by 20 percent if the strike continues into April.",
    ),
)

FLOODS = Article(
    name="floods",
    title="Monsoon Floods Force 1.3 Million From Their Homes in Sylhet and Assam",
    author="Farhana Siddiqui", outlet="Delta Dispatch", date="2022-06-20",
    themes=("Climate", "South Asia", "Disasters"),
    paragraphs=(
        "Floodwaters from the Surma and Kushiyara rivers submerged large parts of Sylhet and Sunamganj in northeastern Bangladesh on Sunday, "
        "forcing about 1.3 million people from their homes. "
        "The flood warning centre in Dhaka said the water at Kanaighat was 87 centimetres above the danger mark. "
        "Across the border in the Indian state of Assam, 21 of 35 districts were under water after three days of rain in Meghalaya. "
        "At least 47 people have died in the two countries since June 14, officials said.",

        "Army units deployed speedboats and 3 helicopters to reach villages in Companiganj and Gowainghat that had been cut off since Friday. "
        "The relief secretary, Rezaul Karim Talukder, said the government had opened 1,605 shelters housing 472,000 people. "
        "Aid agencies distributed rice, lentils and water purification tablets from warehouses in Moulvibazar and Habiganj. "
        "Doctors at the Osmani Medical College Hospital warned of cholera and dengue as the water recedes.",

        "In Assam, the Brahmaputra breached embankments near Barpeta and Nalbari, and rangers said 70 percent of Kaziranga National Park was flooded. "
        "Forest officials moved 12 one-horned rhinoceroses to higher ground in the Karbi Anglong hills. "
        "The railway suspended 18 trains between Lumding and Silchar after landslides in the Dima Hasao district. "
        "State officials in Guwahati asked New Delhi for $240 million for relief and reconstruction.",

        "Climate scientists in Dhaka say extreme rainfall in the region has become more frequent since 1997. "
        "Professor Tahmina Chowdhury said that roads built across the haor wetlands had blocked the natural drainage of the Meghna basin. "
        "A development bank approved a loan of $500 million in March 2021 to strengthen flood defences along 400 kilometres of riverbank. "
        "Critics in Chattogram and Rajshahi say little of that money has reached the districts most at risk.",

        "Forecasters in Agargaon expect more heavy rain over the next 72 hours. "
        "Officials in Sunamganj urged residents of Tahirpur and Dharmapasha to move to shelters immediately. "
        "Schools in 9 subdistricts will remain closed until June 30.",
    ),
)

CASPIAN = Article(
    name="caspian",
    title="Caspian States Sign $2.8 Billion Deal for Undersea Power Cable",
    author="Aigerim Tulegenova", outlet="Silk Road Monitor", date="2025-11-12",
    themes=("Energy", "Central Asia", "Diplomacy"),
    paragraphs=(
        "Azerbaijan, Kazakhstan and Uzbekistan signed an agreement in Baku on Wednesday to build a 1,200 kilometre power cable under the Caspian Sea. "
        "The project, known as the Caspian Green Corridor, would carry up to 4 gigawatts of wind and solar power from Mangystau and Karakalpakstan to Georgia and Romania. "
        "Officials said construction would cost about $2.8 billion and could begin in 2027. "
        "Two development banks have pledged to finance a third of the cost.",

        "The cable would come ashore at Sangachal, south of Baku, and link to a second line under the Black Sea between Anaklia and Constanta. "
        "Engineers from Milan completed a feasibility study last year, estimating transmission losses at 7.5 percent. "
        "Kazakh deputy energy minister Yerlan Zhaksybekov said the deal would let his country export power from new wind farms near Aktau and Zhanaozen. "
        "Uzbek officials said solar parks in Nukus and Muynak could add 1.5 gigawatts by 2030.",

        "Russia and Iran, the other Caspian states, were not invited to the signing ceremony. "
        "A foreign ministry spokesman in Tehran, Mohsen Ghaderi-Nejad, said any seabed project required the consent of all 5 coastal countries under the Aktau convention of 2018. "
        "Moscow has raised similar objections to a planned gas pipeline from Turkmenbashi. "
        "Analysts in Berlin said the dispute could delay permits by several years.",

        "Environmental groups in Astrakhan and Atyrau warned that construction could disturb the spawning grounds of the beluga sturgeon. "
        "Wild sturgeon catches in the Caspian have fallen by 90 percent since 1991. "
        "Project managers said the cable route had been moved 40 kilometres south to avoid the Volga delta. "
        "An environmental impact assessment is due to be published on March 17 next year.",

        "The agreement still needs approval from parliaments in Baku, Astana and Tashkent. "
        "A senior adviser in Baku, Elchin Mammadguliyev, said the first power could flow by 2029. "
        "Officials in Brussels hope the corridor will cover 2 percent of European electricity demand by 2035.",
    ),
)

ARTICLES = {a.name: a for a in (SEED, PORTS, FLOODS, CASPIAN)}

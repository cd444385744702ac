"""What the kiosk says, in French and in English, for each screen and answer.

The text is built here from a fixed catalogue and from parameters that are
checked against the layout (a door id, a count, a wait), never from free text:
no phrase can carry a pickup code, a PIN or a recipient (decision 37). A run of
four digits or more is refused as a last guard (a phone number is spoken in
pairs, as the French say it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from locker.domain.model import CompartmentSpec

LANGS = ("fr", "en")
MAX_DOORS = 8  # doors named in one phrase (group pickup)
MAX_WAIT_S = 86_400
_DIGIT_RUN = re.compile(r"[0-9]{4,}")

_ORD_FR_F = ["première", "deuxième", "troisième", "quatrième", "cinquième", "sixième",
             "septième", "huitième", "neuvième", "dixième", "onzième", "douzième"]  # fmt: skip
_ORD_EN = ["first", "second", "third", "fourth", "fifth", "sixth",
           "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth"]  # fmt: skip

CATALOGUE: dict[str, dict[str, str]] = {
    "fr": {
        "start": "Consigne de la conciergerie. Pour retirer un colis, touchez le grand bouton "
        "de gauche, ou tapez directement votre code sur le clavier. Pour déposer un article, "
        "le grand bouton de droite. Vous pouvez aussi scanner votre QR code.",
        "code_collect": "Tapez les huit chiffres de votre code de retrait. Chaque touche fait "
        "un bip. La touche effacer est en bas à gauche du clavier.",
        "code_dropoff": "Tapez les huit chiffres de votre code de dépôt. Chaque touche fait "
        "un bip. La touche effacer est en bas à gauche du clavier.",
        "pin": "Tapez votre code livreur, puis la touche valider, en bas à droite.",
        "door_pickup": "{doors}. Prenez votre article, puis refermez la porte.",
        "door_deposit": "{doors}. Déposez votre article, puis refermez la porte.",
        "door_close": "Refermez la porte, s'il vous plaît.",
        "cold_warning": "Attention : ce panier est resté trop longtemps au-dessus de sa "
        "température. La conciergerie est prévenue.",
        "others": "{count} Pour les ouvrir, touchez le bouton Ouvrir les autres.",
        "skipped": "La porte {door} reste fermée : la conciergerie vous recontacte.",
        "thanks_collect": "Merci, bonne journée.",
        "thanks_dropoff": "Merci, votre article est bien déposé. Bonne journée.",
        "problem": "Quel est le problème ? Le casier est vide ; l'article est abîmé ; ce "
        "n'est pas mon article ; la porte ne s'est pas ouverte ; ou autre problème.",
        "problem_damaged": "L'article est abîmé. Le gardez-vous, ou le laissez-vous dans la "
        "consigne ?",
        "problem_held": "Merci. L'article reste dans la consigne : la conciergerie vérifie et "
        "vous recontacte. Vous pouvez l'appeler au {phone}.",
        "problem_kept": "Merci. Le problème est noté : la conciergerie vous recontacte. Vous "
        "pouvez l'appeler au {phone}.",
        "problem_recorded": "Merci. Le problème est transmis à la conciergerie. Vous pouvez "
        "l'appeler au {phone}.",
        "courier_list": "Colis à déposer. Scannez l'étiquette d'un colis, ou touchez-le dans "
        "la liste.",
        "err_unknown": "Code inconnu. Vérifiez les huit chiffres et réessayez.",
        "err_used": "Ce code a déjà servi. Pour toute question, appelez la conciergerie au "
        "{phone}.",
        "err_expired": "Ce code n'est plus valable. Appelez la conciergerie au {phone}.",
        "err_locked": "Trop de codes erronés. Réessayez dans {wait}.",
        "err_jammed": "La porte {door} ne s'est pas ouverte. Appelez la conciergerie au {phone}.",
        "err_unavailable": "Ce casier est momentanément indisponible. Appelez la conciergerie "
        "au {phone}.",
        "err_offline": "Le service est momentanément indisponible. Réessayez dans un instant, "
        "ou appelez la conciergerie au {phone}.",
        "err_held_cold": "Ce panier n'a pas pu être conservé au froid : la conciergerie vous "
        "recontacte. Vous pouvez aussi l'appeler au {phone}.",
        "err_held": "Cet article est retenu : la conciergerie vous recontacte. Vous pouvez "
        "aussi l'appeler au {phone}.",
        "err_cold_pending": "La consigne vient de redémarrer et vérifie le froid. Réessayez "
        "dans quelques minutes.",
        "err_pin": "Code livreur incorrect. Vérifiez votre code et réessayez.",
        "err_session": "Votre session livreur a expiré. Tapez à nouveau votre code livreur.",
        "err_not_qr": "Ce n'est pas un code de la consigne. Scannez le QR code reçu de la "
        "conciergerie, ou tapez votre code.",
        "err_parcel": "Cette référence ne correspond à aucun colis attendu ici.",
        "err_generic": "Cela n'a pas fonctionné. Appelez la conciergerie au {phone}.",
        "err_no_token": "Cette page ne fonctionne que sur l'écran de la consigne.",
        "closed": "Consigne fermée : le site est fermé. {reopens} Les retraits et les dépôts "
        "reprendront à l'ouverture. Livreurs : touchez le bouton Livreur, en bas à droite.",
        "closed_notice": "Le site est fermé, mais la consigne reste accessible. {reopens}",
        "err_closed": "Le site est fermé. {reopens} Votre code n'a pas servi : réessayez à "
        "l'ouverture du site.",
    },
    "en": {
        "start": "Conciergerie parcel locker. To collect a parcel, touch the large button on "
        "the left, or just type your code on the keypad. To drop something off, the large "
        "button on the right. You can also scan your QR code.",
        "code_collect": "Type the eight digits of your pickup code. Each key beeps. The erase "
        "key is at the bottom left of the keypad.",
        "code_dropoff": "Type the eight digits of your drop-off code. Each key beeps. The "
        "erase key is at the bottom left of the keypad.",
        "pin": "Type your courier PIN, then the confirm key, at the bottom right.",
        "door_pickup": "{doors}. Take your item, then close the door.",
        "door_deposit": "{doors}. Put your item in, then close the door.",
        "door_close": "Please close the door.",
        "cold_warning": "Warning: this basket stayed above its temperature for too long. The "
        "conciergerie has been told.",
        "others": "{count} To open them, touch the button Open the others.",
        "skipped": "Door {door} stays shut: the conciergerie will contact you.",
        "thanks_collect": "Thank you, have a nice day.",
        "thanks_dropoff": "Thank you, your item is in. Have a nice day.",
        "problem": "What is the problem? The compartment is empty; the item is damaged; it "
        "is not my item; the door did not open; or another problem.",
        "problem_damaged": "The item is damaged. Do you keep it, or leave it in the locker?",
        "problem_held": "Thank you. The item stays in the locker: the conciergerie checks and "
        "will contact you. You can call them on {phone}.",
        "problem_kept": "Thank you. The problem is noted: the conciergerie will contact you. "
        "You can call them on {phone}.",
        "problem_recorded": "Thank you. The problem has been passed on to the conciergerie. "
        "You can call them on {phone}.",
        "courier_list": "Parcels to deposit. Scan a parcel's label, or touch it in the list.",
        "err_unknown": "Unknown code. Check the eight digits and try again.",
        "err_used": "This code has already been used. For help, call the conciergerie on {phone}.",
        "err_expired": "This code is no longer valid. Call the conciergerie on {phone}.",
        "err_locked": "Too many wrong codes. Try again in {wait}.",
        "err_jammed": "Door {door} did not open. Call the conciergerie on {phone}.",
        "err_unavailable": "This compartment is unavailable for now. Call the conciergerie on "
        "{phone}.",
        "err_offline": "The service is unavailable right now. Try again shortly, or call the "
        "conciergerie on {phone}.",
        "err_held_cold": "This basket could not be kept cold: the conciergerie will contact "
        "you. You can also call them on {phone}.",
        "err_held": "This item is held: the conciergerie will contact you. You can also call "
        "them on {phone}.",
        "err_cold_pending": "The locker has just restarted and is checking the cold. Try "
        "again in a few minutes.",
        "err_pin": "Wrong courier PIN. Check your PIN and try again.",
        "err_session": "Your courier session has expired. Type your courier PIN again.",
        "err_not_qr": "This is not a locker code. Scan the QR code you received from the "
        "conciergerie, or type your code.",
        "err_parcel": "This reference matches no parcel expected here.",
        "err_generic": "That did not work. Call the conciergerie on {phone}.",
        "err_no_token": "This page only works on the locker's own screen.",
        "closed": "The locker is closed: the site is closed. {reopens} Pickups and drop-offs "
        "resume when it opens. Couriers: touch the Courier button, at the bottom right.",
        "closed_notice": "The site is closed, but the locker is still open to you. {reopens}",
        "err_closed": "The site is closed. {reopens} Your code has not been used: try again "
        "once the site is open.",
    },
}

# the door phrases when several doors are open for the person
PLURAL: dict[str, dict[str, str]] = {
    "fr": {
        "door_pickup": "{doors}. Prenez vos articles, puis refermez les portes.",
        "door_deposit": "{doors}. Déposez vos articles, puis refermez les portes.",
        "door_close": "Refermez les portes, s'il vous plaît.",
        "skipped": "Les portes {door} restent fermées : la conciergerie vous recontacte.",
    },
    "en": {
        "door_pickup": "{doors}. Take your items, then close the doors.",
        "door_deposit": "{doors}. Put your items in, then close the doors.",
        "door_close": "Please close the doors.",
        "skipped": "Doors {door} stay shut: the conciergerie will contact you.",
    },
}
# the phrases about one other item (group pickup)
ONE: dict[str, dict[str, str]] = {
    "fr": {"others": "{count} Pour l'ouvrir, touchez le bouton Ouvrir les autres."},
    "en": {"others": "{count} To open it, touch the button Open the others."},
}
PHRASES = frozenset(CATALOGUE["fr"])
CLOSED_PHRASES = frozenset({"closed", "closed_notice", "err_closed"})  # say the reopening

_DAYS = {
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
}
_MONTHS = {
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
}  # fmt: skip


class NotSpeakable(ValueError):
    """A phrase that is not in the catalogue, or a parameter it does not take."""


@dataclass(frozen=True)
class Request:
    """One phrase asked for by the page: a catalogue key and checked parameters."""

    phrase: str
    lang: str = "fr"
    doors: tuple[str, ...] = ()
    count: int | None = None
    wait_s: int | None = None
    warning: bool = False  # the cold-chain warning comes first (door screens)


def _ordinal(n: int, lang: str) -> str:
    words = _ORD_FR_F if lang == "fr" else _ORD_EN
    if n < len(words):
        return words[n]
    return f"{n + 1}e" if lang == "fr" else f"{n + 1}th"


def _masculine(word: str) -> str:
    return "premier" if word == "première" else word


def place(spec: CompartmentSpec, lang: str) -> str:
    """Where a door is, as a person in front of the cabinet finds it."""
    col, row = _ordinal(spec.column, lang), _ordinal(spec.row, lang)
    if lang == "fr":
        return f"{col} colonne, {_masculine(row)} casier en partant du bas"
    return f"{col} column from the left, {row} compartment from the bottom"


def _door_list(ids: Sequence[str], layout: Mapping[str, CompartmentSpec], lang: str) -> str:
    opened = "ouverte" if lang == "fr" else "is open"
    parts = [f"{'Porte' if lang == 'fr' else 'Door'} {i} {opened} : {place(layout[i], lang)}"
             for i in ids]  # fmt: skip
    if lang == "en":
        parts = [p.replace(" : ", ": ") for p in parts]
    return ". ".join(parts)


def _names(ids: Sequence[str], lang: str) -> str:
    """Door ids as a list is said: "B2, B3 et C1"."""
    if len(ids) < 2:
        return "".join(ids)
    return f"{', '.join(ids[:-1])} {'et' if lang == 'fr' else 'and'} {ids[-1]}"


def _wait(seconds: int, lang: str) -> str:
    if seconds >= 3600:
        hours = -(-seconds // 3600)
        unit = ("heure" if lang == "fr" else "hour") + ("s" if hours > 1 else "")
        return f"{hours} {unit}"
    if seconds >= 60:
        minutes = -(-seconds // 60)
        unit = "minute" + ("s" if minutes > 1 else "")
        return f"{minutes} {unit}"
    unit = ("seconde" if lang == "fr" else "second") + ("s" if seconds != 1 else "")
    return f"{seconds} {unit}"


def _count(n: int, lang: str) -> str:
    if lang == "fr":
        return "Un autre article vous attend." if n == 1 else f"{n} autres articles vous attendent."
    return "One other item is waiting for you." if n == 1 else f"{n} other items are waiting."


def reopens(until: datetime | None, today: date, lang: str) -> str:
    """When the host site reopens, as it is said ("Réouverture lundi à 9 heures."), from
    ``until`` in the site's time and the site's date ``today`` (the screen's words)."""
    fr = lang == "fr"
    if until is None:
        return "La date de réouverture n'est pas connue." if fr else "No reopening is known."
    words = "fr" if fr else "en"
    ahead = (until.date() - today).days
    weekday = _DAYS[words][until.weekday()]
    if ahead == 0:
        when = "aujourd'hui" if fr else "today"
    elif ahead == 1:
        when = "demain" if fr else "tomorrow"
    elif 1 < ahead < 7:
        when = weekday
    elif fr:
        first = "er" if until.day == 1 else ""
        when = f"le {weekday} {until.day}{first} {_MONTHS['fr'][until.month - 1]}"
    else:
        when = f"on {weekday} {until.day} {_MONTHS['en'][until.month - 1]}"
    h, m = until.hour, until.minute
    if fr:
        at = {(0, 0): "minuit", (12, 0): "midi"}.get((h, m))
        at = at or f"{h} heure{'s' if h > 1 else ''}" + (f" {m}" if m else "")
        return f"Réouverture {when} à {at}."
    # NOTE: espeak-ng reads "9:00" as "nine zero zero": a.m. and p.m., as they are said
    at = {(0, 0): "midnight", (12, 0): "noon"}.get((h, m))
    half = "AM" if h < 12 else "PM"
    at = at or (f"{h % 12 or 12}" + (f":{m:02d}" if m else "") + f" {half}")
    return f"It reopens {when} at {at}."


def spoken_phone(phone: str) -> str:
    """A phone number as it is said: its own groups when none is longer than three
    digits, else pairs (05 55 12 34 56); +33 numbers in their national form."""
    text = phone.strip()
    if text.startswith("+33"):
        text = "0" + text[3:].lstrip(" (0)")
    groups = re.findall(r"[0-9]+", text)
    if groups and all(len(g) <= 3 for g in groups):
        return ("+ " if text.startswith("+") else "") + " ".join(groups)
    digits = "".join(groups)
    pairs = " ".join(digits[i : i + 2] for i in range(0, len(digits), 2))
    return ("+ " if text.startswith("+") else "") + pairs


def _without_phone(template: str) -> str:
    """The phrase without its sentence that gives the phone (no phone configured)."""
    sentences = re.split(r"(?<=[.?!]) ", template)
    return " ".join(s for s in sentences if "{phone}" not in s) or template


def compose(
    req: Request, layout: Mapping[str, CompartmentSpec], phone: str, reopening: str = ""
) -> str:
    """The text of one phrase; raises :class:`NotSpeakable` for anything not in the
    catalogue or a door not in the layout. ``reopening`` is :func:`reopens` by the
    service's own clock and hours, for the closed site's phrases."""
    if req.lang not in LANGS:
        raise NotSpeakable(f"lang: one of {', '.join(LANGS)}")
    if req.phrase not in PHRASES:
        raise NotSpeakable(f"phrase: no phrase {req.phrase!r}")
    if len(req.doors) > MAX_DOORS:
        raise NotSpeakable(f"door: at most {MAX_DOORS}")
    for door in req.doors:
        if door not in layout:
            raise NotSpeakable("door: not a compartment of this locker")  # never echoed
    template = CATALOGUE[req.lang][req.phrase]
    if len(req.doors) > 1:
        template = PLURAL[req.lang].get(req.phrase, template)
    if req.count == 1:
        template = ONE[req.lang].get(req.phrase, template)
    if not phone.strip():
        template = _without_phone(template)
    needs = set(re.findall(r"\{(\w+)\}", template))
    if needs & {"doors", "door"} and not req.doors:
        raise NotSpeakable(f"phrase {req.phrase!r} needs a door")
    if "count" in needs and not req.count:
        raise NotSpeakable(f"phrase {req.phrase!r} needs a count")
    if "reopens" in needs and not reopening:
        raise NotSpeakable(f"phrase {req.phrase!r} needs the reopening")
    wait_s = min(max(req.wait_s or 0, 0), MAX_WAIT_S)
    text = template.format(
        doors=_door_list(req.doors, layout, req.lang) if req.doors else "",
        door=_names(req.doors, req.lang),
        count=_count(req.count or 0, req.lang),
        wait=_wait(wait_s, req.lang),
        phone=spoken_phone(phone),
        reopens=reopening,
    )
    if req.warning and req.phrase.startswith("door_"):
        text = f"{CATALOGUE[req.lang]['cold_warning']} {text}"
    if _DIGIT_RUN.search(text):  # the last guard: a code is 8 digits, a PIN at least 4
        raise NotSpeakable("a phrase never holds a run of digits")
    return text

"""Privacy by design (issue 19): the locker holds no names, phone numbers or e-mail
addresses (:mod:`.identifiers`), and keeps what it holds only as long as it needs."""

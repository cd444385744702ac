"""Spoken guidance at the kiosk: phrases built from the layout, synthesised by espeak-ng.

``phrases`` composes the text of each screen (never a code nor a recipient:
decision 37), ``voice`` turns it into a cached WAV, ``tones`` makes the short
sounds of an unlock and of a key press.
"""

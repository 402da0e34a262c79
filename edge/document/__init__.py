"""Reading and authenticating ICAO 9303 documents (identity cards, passports) over PC/SC.

The pure core (no I/O, time passed in):
    mrz        TD1 / TD2 / TD3 machine readable zones, check digits, BAC/PACE key information, CAN
    tlv        strict BER-TLV
    crypto     9303-11 KDF, ISO 9797-1 padding, retail MAC, AES-CMAC, 3DES/AES CBC
    apdu       command/response APDUs (short and extended), status words, the eMRTD commands
    sm         secure messaging, terminal and chip side (the card emulator reuses it)
    bac, pace  access control, terminal and chip side (PACE: ECDH generic and chip authentication mapping)
    securityinfo, lds, sod   EF.CardAccess/DG14 SecurityInfos, EF.COM, DG1, DG2, DG15, EF.SOD
    keys       DG14/DG15 public keys, including EC keys with explicit or numbered curves
    trust      CSCA certificates / master lists and CRLs from a directory
    authentication   Active Authentication and Chip Authentication
    checks     DocumentResult, the BSI TR-03135 check results and the accept/refuse verdict
    session    read_document(transmit, access_key, options, trust_store, now) -> DocumentResult
Errors: edge.document.errors (DocumentError and its subclasses, nothing else escapes the parsers).
"""

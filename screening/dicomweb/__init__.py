"""DICOMweb (PS3.18) for the practices' software and PACS: STOW-RS, QIDO-RS, WADO-RS, with practice tokens.

Every request carries `Authorization: Bearer <token>`; a token sees only its practice's studies
(DicomStudy.practice) and acts as the practice's service user (audit actor).
"""

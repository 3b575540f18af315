"""The papers MedSynth's architectures cite (each declaration in ``medsynth.core.architectures`` names its own); shown
with the model card (CLI and Slicer) and in the module help."""

from __future__ import annotations

DAR2019 = ("S. U. H. Dar, M. Yurt, L. Karacan, A. Erdem, E. Erdem, T. Çukur. Image synthesis in multi-contrast "
           "MRI with conditional generative adversarial networks. IEEE Trans. Med. Imaging 38(10):2375-2388, 2019.")
MIRZA2022 = ("M. U. Mirza, O. Dalmaç, T. Çukur. Skip connections for medical image synthesis with generative "
             "adversarial networks (Üretken çekişmeli ağlar ile medikal görüntü sentezi için atlamalı "
             "bağlantılar). Signal Processing and Communications Applications Conference (SIU), 2022.")
NIE2018 = ("D. Nie, R. Trullo, J. Lian, L. Wang, C. Petitjean, S. Ruan, Q. Wang, D. Shen. Medical image synthesis "
           "with deep convolutional adversarial networks. IEEE Trans. Biomed. Eng. 65(12):2720-2730, 2018.")
ISOLA2017 = ("P. Isola, J.-Y. Zhu, T. Zhou, A. A. Efros. Image-to-image translation with conditional adversarial "
             "networks. CVPR 2017.")
RONNEBERGER2015 = ("O. Ronneberger, P. Fischer, T. Brox. U-Net: convolutional networks for biomedical image "
                   "segmentation. MICCAI 2015.")
ZHU2017 = ("J.-Y. Zhu, T. Park, P. Isola, A. A. Efros. Unpaired image-to-image translation using cycle-consistent "
           "adversarial networks. ICCV 2017.")
LIU2017 = ("M.-Y. Liu, T. Breuel, J. Kautz. Unsupervised image-to-image translation networks. NeurIPS 2017.")
ZHANG2019 = ("H. Zhang, I. Goodfellow, D. Metaxas, A. Odena. Self-attention generative adversarial networks. "
             "ICML 2019.")
NYUL2000 = ("L. G. Nyúl, J. K. Udupa, X. Zhang. New variants of a method of MRI scale standardization. "
            "IEEE Trans. Med. Imaging 19(2):143-150, 2000.")
DEEPBET2024 = ("L. Fisch, S. Zumdick, C. Barkhau, D. Emden, J. Ernsting, R. Leenings, K. Sarink, N. R. Winter, "
               "B. Risse, U. Dannlowski, T. Hahn. deepbet: Fast brain extraction of T1-weighted MRI using "
               "Convolutional Neural Networks. Computers in Biology and Medicine 179:108845, 2024.")


def citations_for(architecture: str, references: list[str] | None = None) -> list[str]:
    """The card's own references, else the architecture's papers (none for plain baselines)."""
    if references:
        return list(references)
    from .architectures import architecture as declared
    from .errors import ModelError

    try:
        return list(declared(architecture).citations)
    except ModelError:
        return []

"""The StyleGAN2 W+ fusion engine of chapter 6 (inversion, layer fusion, warp and blend).

Nothing is imported here: the registry names ``engine:StyleGANExpressionEngine`` and
imports it only when the engine runs, because its modules pull in torch.
"""

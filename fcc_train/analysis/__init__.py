"""The theory applied to trained heads: exact head arithmetic, predicted vs measured flips, figures."""

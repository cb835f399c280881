"""lulc_core: land-use / land-cover mapping from Sentinel-2 imagery.

Data flows one way: files -> aligned rasters -> patches -> model -> predictions -> artifacts.
"""

__version__ = "0.1.0"

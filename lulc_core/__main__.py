from lulc_core.cli import main

main()

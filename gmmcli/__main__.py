from gmmcli.cli import main

main()

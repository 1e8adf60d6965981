from carts_reduce.cli import main

main()

from ttt.cli import run

run()

"""A study's predictions written in another project's layout: `xstilts report DIR --export xtreme`.

xtreme         which arm's predictions go where, and what cannot be a leaderboard submission
xtreme_layout  XTREME's submission folder: file names, the files' contents, the summary, writing it
"""

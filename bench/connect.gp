# Connect cost vs denied-prefix count (bench/run.sh writes the data file).
# gnuplot -e "datafile='build/bench/connect-plot.dat'; outfile='docs/perf/connect-vs-rules.png'" bench/connect.gp
# Columns: rules none govgate nftables iptables govgate% nftables% iptables%
set terminal pngcairo size 1200,480 font "sans,10"
set output outfile
set datafile missing "?"
set multiplot layout 1,2 title "TCP connect+accept+close to 198.18.0.1 (on lo, decided by the gate), with N denied IPv4 prefixes loaded"
set logscale x
set xrange [5:2000000]
set format x "10^{%L}"
set xlabel "denied prefixes loaded (N)"
set grid
set key bottom left
set logscale y
set ylabel "connects per second (median)"
plot datafile using 1:2 with linespoints lw 2 pt 7 title "no filter", \
     '' using 1:3 with linespoints lw 2 pt 5 title "govgate", \
     '' using 1:4 with linespoints lw 2 pt 9 title "nftables interval set", \
     '' using 1:5 with linespoints lw 2 pt 13 title "iptables, one rule per prefix"
unset logscale y
set yrange [0:110]
set ylabel "% of the no-filter rate in the same round (median)"
set arrow from 5,95 to 2000000,95 nohead dt 2 lc rgb "gray"
plot datafile using 1:6 with linespoints lw 2 pt 5 lc 2 title "govgate", \
     '' using 1:7 with linespoints lw 2 pt 9 lc 3 title "nftables interval set", \
     '' using 1:8 with linespoints lw 2 pt 13 lc 4 title "iptables, one rule per prefix"
unset multiplot

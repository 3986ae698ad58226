# Plots for BENCHMARKS.md. Called by bench/run.sh as
#   gnuplot -e "out='bench/out'; res='bench/results'" bench/plots.gp
set datafile separator "\t"
set terminal pngcairo size 960,520 font "DejaVu Sans,10" noenhanced
set key outside right top
set grid ytics

# --- 1. quality: objective after the plan, per scenario and planner (log scale) -------------
set output res.'/quality-objective.png'
set title "Our objective after one plan (same migration budget; lower is better; log scale)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.001:*]
set xtics rotate by -35 left
set bmargin 8
set ylabel "objective"
plot out.'/quality-pivot.tsv' using 2:xtic(1) title columnheader(2), \
     '' using 3 title columnheader(3), '' using 4 title columnheader(4), '' using 5 title columnheader(5), \
     '' using 6 title columnheader(6), '' using 7 title columnheader(7), '' using 8 title columnheader(8), \
     '' using 9 title columnheader(9)
unset logscale y
set yrange [*:*]
set xtics norotate
set bmargin
unset style data

# --- 2. over time: imbalance and hottest node per trace -----------------------------------
do for [t in "bitbrains-2day planetlab-20110303"] {
    set output res.'/overtime-'.t.'.png'
    set multiplot layout 2,1 title "Replay of ".t." (balancers every 30 min)"
    set xlabel "hours"
    set ylabel "Proxmox imbalance"
    set title ""
    plot for [i=2:7] out.'/series-'.t.'.tsv' using 1:i with lines lw 1.5 title columnheader(i)
    set ylabel "hottest node (max of CPU, memory)"
    plot for [i=8:13] out.'/series-'.t.'.tsv' using 1:i with lines lw 1.5 title columnheader(i), 0.9 with lines dt 2 lc rgb "black" title "90%"
    unset multiplot
}

# --- 3. speed: CLI wall time and peak RSS versus guests ------------------------------------
set output res.'/speed.png'
set multiplot layout 1,2 title "Engine speed versus cluster size (CLI end to end, median)"
set logscale xy
set xlabel "guests (8 to 64 nodes)"
set ylabel "wall time (ms)"
set xrange [70:30000]
set key inside right bottom
plot out.'/speed.tsv' using 2:9 with linespoints title "score", \
     '' using 2:10 with linespoints title "plan", \
     '' using 2:11 with linespoints title "evacuate", \
     '' using 2:12 with linespoints title "failover", \
     '' using 2:13 with linespoints title "capacity", \
     '' using 2:4 with linespoints dt 2 title "JSON parse (library)"
set ylabel "peak RSS (MiB)"
plot out.'/speed.tsv' using 2:15 with linespoints title "plan", \
     '' using 2:18 with linespoints title "capacity", \
     '' using 2:14 with linespoints title "score"
unset multiplot

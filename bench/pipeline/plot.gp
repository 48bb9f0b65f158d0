# Plots a pipeline_bench run: queue depths per stage (top) and calls finished per stage per
# second (bottom) over time, from the bench's samples.csv.
#   gnuplot -e "csv='build/pipeline-bench/samples.csv'; png='build/pipeline-bench/pipeline.png'" bench/pipeline/plot.gp
set datafile separator ","
set terminal pngcairo size 1200,900 noenhanced
set output png
set multiplot layout 2,1 title "pipeline_bench"
set key outside right top
set grid
set xlabel "seconds"
set ylabel "messages queued"
plot csv using "t_s":"depth_transcribe" with lines lw 2 title "transcribe", \
     csv using "t_s":"depth_analyze" with lines lw 2 title "analyze", \
     csv using "t_s":"depth_notify" with lines lw 2 title "notify"
set ylabel "calls/s (10-sample average)"
set yrange [0:*]
plot \
     "< awk -F, 'NR==1{for(i=1;i<=NF;i++)h[$i]=i;next}{t[NR]=$h[\"t_s\"];f[NR]=$h[\"fed\"];a[NR]=$h[\"done_transcribe\"];b[NR]=$h[\"done_analyze\"];c[NR]=$h[\"done_notify\"];if(NR>11){d=t[NR]-t[NR-10];print t[NR]\",\"(f[NR]-f[NR-10])/d\",\"(a[NR]-a[NR-10])/d\",\"(b[NR]-b[NR-10])/d\",\"(c[NR]-c[NR-10])/d}}' ".csv \
       using 1:2 with lines lw 2 title "fed", \
     "" using 1:3 with lines lw 2 title "transcribed", \
     "" using 1:4 with lines lw 2 title "analyzed", \
     "" using 1:5 with lines lw 2 title "notified"
unset multiplot

# a univariate, equal-length file as the archive writes it
@problemName Tiny
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 4
@classLabel true 1 2
@data
0.5,-1.25,3e-2,7:1
1,2,3,4:2
-0.1,-0.2,-0.3,-0.4:1

@problemName Multi
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
1,2,?:4,5,6:down
# comment
7,8:NaN,10:up

DROP TABLE harvester_scans;

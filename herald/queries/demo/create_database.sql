CREATE DATABASE herald_demo

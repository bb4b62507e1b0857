"""Calorimeter physics: the CaloGAN geometry, its effective material and the parametrised shower simulator."""
